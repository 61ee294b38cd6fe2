/* The volunteer form: 村居 → grid lists, a map pin that finds the grid, the skill search box,
   and certificate inputs shown for the regulated skills that are ticked. Everything also works
   without this script (all grids listed, all certificate inputs visible, no map). */
(function () {
  "use strict";
  var village = document.querySelector("[data-role=village]");
  var grid = document.querySelector("[data-role=grid]");
  var latIn = document.querySelector("[data-role=lat]");
  var lonIn = document.querySelector("[data-role=lon]");
  var status = document.getElementById("pin-status");

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

  /* The map pin. */
  var mapEl = document.getElementById("pin-map");
  if (mapEl && typeof L !== "undefined" && window.gridMap) {
    var datum = window.gridMap.datumOf(mapEl);
    var center = JSON.parse(mapEl.dataset.center || "[30.757,121.353]");
    var start = latIn && latIn.value ? [Number(latIn.value), Number(lonIn.value)] : center;
    var map = L.map(mapEl).setView(datum.toMap(start[0], start[1]), latIn && latIn.value ? 16 : 13);
    L.tileLayer(mapEl.dataset.tiles, { attribution: mapEl.dataset.attribution, maxZoom: 19 }).addTo(map);
    var marker = null;
    function place(lat, lon) {
      var shown = datum.toMap(lat, lon);
      if (marker) { marker.setLatLng(shown); } else { marker = L.marker(shown).addTo(map); }
    }
    if (latIn && latIn.value) { place(Number(latIn.value), Number(lonIn.value)); }
    map.on("click", function (e) {
      var wgs = datum.fromMap(e.latlng.lat, e.latlng.lng);
      latIn.value = wgs[0].toFixed(6);
      lonIn.value = wgs[1].toFixed(6);
      place(wgs[0], wgs[1]);
      status.textContent = latIn.value + ", " + lonIn.value;
      fetch(mapEl.dataset.lookup + "?lat=" + latIn.value + "&lon=" + lonIn.value)
        .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
        .then(function (res) {
          if (res[0]) {
            village.value = res[1].village;
            filterGrids();
            grid.value = res[1].grid;
            status.textContent = res[1].village_name + " · " + res[1].name;
          } else {
            status.textContent = res[1].message;
          }
        })
        .catch(function () { /* offline: the pin is kept, the grid is chosen by hand */ });
    });
    mapEl.gridMap = map;
  } else if (mapEl) {
    mapEl.style.display = "none";
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
