/* Small Leaflet maps. Markup: <div class="js-map" data-tiles=".." data-attribution=".."
   data-datum="WGS84|GCJ02" data-points='[{"lat":..,"lon":..,"label":"..","url":"/.."}]'></div>
   (url optional). Labels are inserted as text, never as HTML.
   Coordinates are stored in WGS-84; Chinese tile sources (AMap, Tencent) draw in GCJ-02, so
   points are shifted for display when the tiles use it. When tiles cannot load, the markers and
   the text beside the map still say where things are. */
(function () {
  "use strict";
  var A = 6378245.0, EE = 0.00669342162296594323;

  function outOfChina(lat, lon) {
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }
  function tLat(x, y) {
    var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
    r += (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3;
    return r;
  }
  function tLon(x, y) {
    var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
    r += (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3;
    return r;
  }
  /* WGS-84 → GCJ-02 (the published "Mars coordinates" transform). */
  function wgsToGcj(lat, lon) {
    if (outOfChina(lat, lon)) { return [lat, lon]; }
    var dLat = tLat(lon - 105, lat - 35), dLon = tLon(lon - 105, lat - 35);
    var rad = lat / 180 * Math.PI, magic = Math.sin(rad);
    magic = 1 - EE * magic * magic;
    var sq = Math.sqrt(magic);
    dLat = (dLat * 180) / ((A * (1 - EE)) / (magic * sq) * Math.PI);
    dLon = (dLon * 180) / (A / sq * Math.cos(rad) * Math.PI);
    return [lat + dLat, lon + dLon];
  }
  /* GCJ-02 → WGS-84, by one correction step (error well under a metre here). */
  function gcjToWgs(lat, lon) {
    var g = wgsToGcj(lat, lon);
    return [lat - (g[0] - lat), lon - (g[1] - lon)];
  }
  /* Show and read coordinates in the datum of the tiles. */
  function datumOf(el) {
    var gcj = (el.dataset.datum || "WGS84") === "GCJ02";
    return {
      toMap: function (lat, lon) { return gcj ? wgsToGcj(lat, lon) : [lat, lon]; },
      fromMap: function (lat, lon) { return gcj ? gcjToWgs(lat, lon) : [lat, lon]; }
    };
  }
  window.gridMap = { wgsToGcj: wgsToGcj, gcjToWgs: gcjToWgs, datumOf: datumOf };

  /* A popup's content as a node: the label as text (never HTML), a link when the point has a
     local address (p.url, starting with one "/"). */
  function popup(p) {
    var local = typeof p.url === "string" && /^\/(?![\/\\])/.test(p.url);
    var node = document.createElement(local ? "a" : "span");
    node.textContent = String(p.label);
    if (local) { node.href = p.url; }
    return node;
  }

  function init(el) {
    if (typeof L === "undefined") { return; }
    var show = datumOf(el).toMap;
    var points = JSON.parse(el.dataset.points || "[]");
    var map = L.map(el, { scrollWheelZoom: false });
    L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution, maxZoom: 19 }).addTo(map);
    var bounds = [];
    points.forEach(function (p) {
      var ll = show(p.lat, p.lon);
      bounds.push(ll);
      var m = L.marker(ll).addTo(map);
      if (p.label) { m.bindPopup(popup(p)); }
    });
    if (bounds.length === 1) { map.setView(bounds[0], Number(el.dataset.zoom || 16)); }
    else if (bounds.length) { map.fitBounds(bounds, { padding: [40, 40] }); }
    el.gridMap = map;
  }
  document.querySelectorAll(".js-map").forEach(init);
})();
