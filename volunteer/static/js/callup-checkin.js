/* Check in (or out) at a call-up's muster point: before the form [data-checkin] is sent, ask the
   phone for its position once (at most 8 s) and put it into the hidden fields [data-role=lat],
   [data-role=lon] and [data-role=accuracy]. Refused, unavailable or slow: the form is sent
   without it, and only the time is recorded. */
(function () {
  "use strict";
  document.querySelectorAll("form[data-checkin]").forEach(function (form) {
    var asked = false;
    form.addEventListener("submit", function (ev) {
      if (asked || !navigator.geolocation) { return; }
      ev.preventDefault();
      asked = true;
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
      var done = false;
      function send() {
        if (done) { return; }
        done = true;
        form.submit();
      }
      navigator.geolocation.getCurrentPosition(function (pos) {
        form.querySelector("[data-role=lat]").value = pos.coords.latitude.toFixed(6);
        form.querySelector("[data-role=lon]").value = pos.coords.longitude.toFixed(6);
        form.querySelector("[data-role=accuracy]").value = Math.round(pos.coords.accuracy || 0);
        send();
      }, send, {enableHighAccuracy: true, timeout: 8000, maximumAge: 60000});
      setTimeout(send, 9000);
    });
  });
})();
