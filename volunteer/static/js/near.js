/* "Near me" on the service menu: the phone's position fills the hidden lat/lon of the form
   [data-testid=near-form] and submits it; refused, the 村居 list still works. */
(function () {
  "use strict";
  var btn = document.querySelector("[data-role=near-locate]");
  if (!btn) { return; }
  if (!navigator.geolocation) { btn.style.display = "none"; return; }
  var form = btn.closest("form");
  var status = form.querySelector("[data-role=near-status]");
  btn.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.querySelector("[data-role=near-lat]").value = pos.coords.latitude.toFixed(6);
      form.querySelector("[data-role=near-lon]").value = pos.coords.longitude.toFixed(6);
      form.querySelector("select[name=village]").value = "";
      form.submit();
    }, function () { if (status) { status.textContent = btn.dataset.refused || ""; } },
    { enableHighAccuracy: false, timeout: 10000 });
  });
})();
