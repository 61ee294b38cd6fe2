/* The volunteer form: 村居 → grid lists, the skill search box, and certificate inputs shown for
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
