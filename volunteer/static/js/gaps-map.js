/* The coverage-gap map: one circle at each 村居's centre, coloured by its worst gap (the same
   five colours as the heat map). Markup: <div class="js-gaps-map" data-tiles=".." data-datum=".."
   data-points='[{"lat":..,"lon":..,"level":0-4,"name":"..","label":".."}]'></div>. Labels are set as text,
   never as HTML; without tiles the circles still show where the gaps are. Needs map.js. */
(function () {
  "use strict";
  var COLOURS = ["#ffffff", "#fff3cd", "#ffd8a8", "#ffa8a8", "#e03131"];

  function init(el) {
    if (typeof L === "undefined" || !window.gridMap) { return; }
    var show = window.gridMap.datumOf(el).toMap;
    var points = JSON.parse(el.dataset.points || "[]");
    var map = L.map(el, { scrollWheelZoom: false });
    L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution, maxZoom: 19 }).addTo(map);
    var bounds = [];
    points.forEach(function (p) {
      var ll = show(p.lat, p.lon), level = Math.max(0, Math.min(4, Number(p.level) || 0));
      bounds.push(ll);
      var c = L.circleMarker(ll, { radius: 9 + 2 * level, color: "#555", weight: 1,
                                   fillColor: COLOURS[level], fillOpacity: 0.9 }).addTo(map);
      var node = document.createElement("span");
      node.textContent = String(p.label || "");
      c.bindPopup(node);
      var name = document.createElement("span");
      name.textContent = String(p.name || "");
      c.bindTooltip(name);
    });
    if (bounds.length === 1) { map.setView(bounds[0], 14); }
    else if (bounds.length) { map.fitBounds(bounds, { padding: [30, 30] }); }
    el.gridMap = map;
  }
  document.querySelectorAll(".js-gaps-map").forEach(init);
})();
