/* The volunteer form: 村居 → grid lists, the map centred on the chosen 村居 (asking before a pin
   outside it changes the grid), the skill search box, and certificate inputs shown for
   the regulated skills that are ticked (the map pin is pin.js). Everything also works without
   this script (all grids listed, all certificate inputs visible). */
(function () {
  "use strict";
  var village = document.querySelector("[data-role=village]");
  var grid = document.querySelector("[data-role=grid]");

  /* Only the grids of the chosen 村居. */
  var gridVillage = grid ? JSON.parse(grid.dataset.villages || "{}") : {};
  var allOptions = grid ? Array.prototype.slice.call(grid.options) : [];
  function filterGrids() {
    if (!village || !grid) { return; }
    var v = village.value, keep = grid.value;
    grid.innerHTML = "";
    allOptions.forEach(function (o) {
      if (!o.value || !v || gridVillage[o.value] === v) { grid.appendChild(o); }
    });
    grid.value = keep && (!v || gridVillage[keep] === v) ? keep : "";
  }
  if (village) { village.addEventListener("change", filterGrids); filterGrids(); }
  if (grid && village) {
    grid.addEventListener("change", function () {
      if (grid.value && gridVillage[grid.value]) { village.value = gridVillage[grid.value]; }
    });
  }

  /* The map (pin.js, loaded after this script) centres on the chosen 村居: its grids' centres
     from the village list's data-places. A change made by the pin itself does not move it. */
  var mapEl = document.getElementById("pin-map");
  var places = village ? JSON.parse(village.dataset.places || "{}") : {};
  function centre() {
    var map = mapEl && mapEl.gridMap;
    var pts = places[village.value];
    if (!map || !pts || !pts.length || !window.gridMap) { return; }
    var toMap = window.gridMap.datumOf(mapEl).toMap;
    var shown = pts.map(function (p) { return toMap(p[0], p[1]); });
    if (shown.length === 1) { map.setView(shown[0], 15); }
    else { map.fitBounds(shown, { padding: [30, 30], maxZoom: 16 }); }
  }
  if (village && mapEl) {
    village.addEventListener("change", function (e) { if (!(e.detail && e.detail.pin)) { centre(); } });
    document.addEventListener("DOMContentLoaded", function () {
      var lat = document.querySelector("[data-role=lat]");
      if (!(lat && lat.value)) { centre(); }  /* a pin already placed keeps the map on it */
    });
  }

  /* A pin outside the chosen 村居 asks before the village and grid change (#pin-ask); "no" puts
     the pin back. While it asks, the form is not sent. */
  var ask = document.getElementById("pin-ask");
  var pending = null;
  function answer(yes) {
    var p = pending;
    pending = null;
    ask.hidden = true;
    if (!p) { return; }
    if (yes) { p.apply(); }
    else {
      p.revert();
      var status = document.getElementById("pin-status");
      if (status) { status.textContent = ask.dataset.kept; }
    }
  }
  if (ask && village) {
    document.addEventListener("pin:grid", function (e) {
      var chosen = village.value;
      if (!chosen || e.detail.village === chosen) { return; }
      e.preventDefault();
      pending = e.detail;
      var name = village.options[village.selectedIndex] ? village.options[village.selectedIndex].text : chosen;
      ask.querySelector("[data-role=ask-text]").textContent = ask.dataset.question
        .replace("{village}", e.detail.village_name).replace("{grid}", e.detail.name)
        .replace("{chosen}", name);
      ask.hidden = false;
      ask.querySelector("[data-role=ask-yes]").focus({ preventScroll: true });
    });
    ask.querySelector("[data-role=ask-yes]").addEventListener("click", function () { answer(true); });
    ask.querySelector("[data-role=ask-no]").addEventListener("click", function () { answer(false); });
    var form = ask.closest("form");
    if (form) {
      form.addEventListener("submit", function (e) {
        if (pending) { e.preventDefault(); ask.scrollIntoView({ block: "center" }); ask.querySelector("[data-role=ask-yes]").focus(); }
      });
    }
  }

  /* Skill search: zh / en names and synonyms (大夫 finds 医生). */
  var search = document.getElementById("skill-search");
  var items = Array.prototype.slice.call(document.querySelectorAll(".skill-item"));
  if (search) {
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase();
      items.forEach(function (it) {
        var hit = !q || it.dataset.terms.indexOf(q) >= 0 || it.querySelector("input").checked;
        it.style.display = hit ? "" : "none";
      });
    });
    search.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); } });
  }

  /* Certificate inputs only for the regulated skills that are ticked. */
  function syncCerts() {
    document.querySelectorAll("input[data-cert]").forEach(function (box) {
      var el = document.getElementById(box.dataset.cert);
      if (el) { el.style.display = box.checked ? "" : "none"; }
    });
  }
  document.querySelectorAll("input[data-cert]").forEach(function (box) {
    box.addEventListener("change", syncCerts);
  });
  syncCerts();

  /* Work-unit suggestions from the managed list as one types. */
  var unit = document.querySelector("input[list=work-units]");
  var list = document.getElementById("work-units");
  if (unit && list && unit.dataset.lookup) {
    var timer = null;
    unit.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch(unit.dataset.lookup + "?q=" + encodeURIComponent(unit.value))
          .then(function (r) { return r.json(); })
          .then(function (names) {
            list.innerHTML = "";
            names.forEach(function (n) { var o = document.createElement("option"); o.value = n; list.appendChild(o); });
          }).catch(function () {});
      }, 200);
    });
  }
})();
