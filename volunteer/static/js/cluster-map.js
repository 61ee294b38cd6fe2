/* A map of many points, clustered (Leaflet.markercluster). Markup:
   <div class="js-cluster-map" data-src="/…/map.json?…" data-tiles data-attribution data-datum
        data-center='[lat,lon]'></div> and an element [data-role=map-count] for the summary.
   The JSON holds {"points": [[id, lat, lon, label, status, overdue], …], "statuses": {code:
   label}, "link": "/issues/" (optional: a point links to link + id), "total", "shown"}.
   Coordinates are WGS-84 and shifted for display when the tiles use GCJ-02 (map.js). Labels are
   inserted as text, never as HTML. */
(function () {
  "use strict";
  function init(el) {
    if (typeof L === "undefined" || !window.gridMap || !L.markerClusterGroup) { return; }
    var show = window.gridMap.datumOf(el).toMap;
    var center = JSON.parse(el.dataset.center || "[30.757,121.353]");
    var map = L.map(el, { scrollWheelZoom: false }).setView(show(center[0], center[1]), 13);
    L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution, maxZoom: 19 }).addTo(map);
    var count = document.querySelector("[data-role=map-count]");
    var group = L.markerClusterGroup({ maxClusterRadius: 50, chunkedLoading: true });
    map.addLayer(group);
    fetch(el.dataset.src, { headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        var markers = [], bounds = [];
        data.points.forEach(function (p) {
          var ll = show(p[1], p[2]);
          bounds.push(ll);
          var icon = L.divIcon({ className: "map-dot status-" + p[4] + (p[5] ? " overdue" : ""),
                                 iconSize: [16, 16] });
          var m = L.marker(ll, { icon: icon, title: p[3] });
          var box = document.createElement("div");
          var title = document.createElement(data.link ? "a" : "strong");
          title.textContent = p[3];
          if (data.link) { title.href = data.link + p[0]; }
          var status = document.createElement("div");
          status.className = "small text-muted";
          status.textContent = (data.statuses[p[4]] || p[4]) + (p[5] ? " · " + (el.dataset.overdue || "") : "");
          box.appendChild(title);
          box.appendChild(status);
          m.bindPopup(box);
          markers.push(m);
        });
        group.addLayers(markers);
        if (bounds.length) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 17, animate: false }); }
        if (count) {
          var text = el.dataset.countText || "{shown}";
          count.textContent = text.replace("{shown}", data.shown).replace("{total}", data.total || data.shown);
        }
      })
      .catch(function () { if (count) { count.textContent = el.dataset.failed || ""; } });
    el.gridMap = map;
  }
  document.querySelectorAll(".js-cluster-map").forEach(init);
})();
