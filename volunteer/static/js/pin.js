/* A map to drop a pin on: <div id="pin-map" data-tiles data-attribution data-datum data-center
   data-lookup>. The pin fills the inputs [data-role=lat] and [data-role=lon] (in WGS-84, whatever
   datum the tiles use), asks data-lookup for the grid there and selects it in [data-role=village]
   and [data-role=grid] when present. The button [data-role=locate] uses the phone's position
   (data-waiting, data-refused, data-far and data-rough hold what to say). Each change of the pin
   fires "pin:changed" on the document.
   Without script or tiles the form still works: the grid is chosen from the list. */
(function () {
  "use strict";
  var mapEl = document.getElementById("pin-map");
  if (!mapEl) { return; }
  if (typeof L === "undefined" || !window.gridMap) { mapEl.style.display = "none"; return; }
  var latIn = document.querySelector("[data-role=lat]");
  var lonIn = document.querySelector("[data-role=lon]");
  var village = document.querySelector("[data-role=village]");
  var grid = document.querySelector("[data-role=grid]");
  var status = document.getElementById("pin-status");
  var datum = window.gridMap.datumOf(mapEl);
  var center = JSON.parse(mapEl.dataset.center || "[30.757,121.353]");
  var has = latIn && latIn.value;
  var start = has ? [Number(latIn.value), Number(lonIn.value)] : center;
  var map = L.map(mapEl).setView(datum.toMap(start[0], start[1]), has ? 16 : 13);
  L.tileLayer(mapEl.dataset.tiles, { attribution: mapEl.dataset.attribution, maxZoom: 19 }).addTo(map);
  var marker = null;
  var locate = document.querySelector("[data-role=locate]");

  function say(text) { if (status) { status.textContent = text; } }
  function place(lat, lon) {
    var shown = datum.toMap(lat, lon);
    if (marker) { marker.setLatLng(shown); } else { marker = L.marker(shown).addTo(map); }
  }
  function clearPin() {
    latIn.value = "";
    lonIn.value = "";
    if (marker) { map.removeLayer(marker); marker = null; }
    document.dispatchEvent(new CustomEvent("pin:changed"));
  }
  /* fromPhone: the position came from the phone; when it lies outside the town (a wildly wrong
     fix, or the phone is elsewhere) the pin is not kept and the user is told why. */
  function setPin(lat, lon, fromPhone, accuracy) {
    latIn.value = lat.toFixed(6);
    lonIn.value = lon.toFixed(6);
    place(lat, lon);
    say(latIn.value + ", " + lonIn.value);
    document.dispatchEvent(new CustomEvent("pin:changed"));
    if (!mapEl.dataset.lookup) { return; }
    fetch(mapEl.dataset.lookup + "?lat=" + latIn.value + "&lon=" + lonIn.value)
      .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
      .then(function (res) {
        if (!res[0]) {
          if (fromPhone && locate && locate.dataset.far) {
            clearPin();
            map.setView(datum.toMap(center[0], center[1]), 13);
            say(locate.dataset.far);
          } else {
            say(res[1].message);
          }
          return;
        }
        if (village) { village.value = res[1].village; village.dispatchEvent(new Event("change")); }
        if (grid) { grid.value = res[1].grid; }
        var where = res[1].village_name + " · " + res[1].name;
        if (fromPhone && accuracy > 200 && locate && locate.dataset.rough) {
          where += " — " + locate.dataset.rough.replace("{m}", Math.round(accuracy));
        }
        say(where);
      })
      .catch(function () { /* offline: the pin stays, the grid is chosen by hand */ });
  }
  if (has) { place(Number(latIn.value), Number(lonIn.value)); }
  map.on("click", function (e) {
    var wgs = datum.fromMap(e.latlng.lat, e.latlng.lng);
    setPin(wgs[0], wgs[1]);
  });
  if (locate && navigator.geolocation) {
    locate.addEventListener("click", function () {
      say(locate.dataset.waiting || "…");
      navigator.geolocation.getCurrentPosition(function (pos) {
        setPin(pos.coords.latitude, pos.coords.longitude, true, pos.coords.accuracy);
        map.setView(datum.toMap(pos.coords.latitude, pos.coords.longitude), 17);
      }, function () { say(locate.dataset.refused || ""); }, { enableHighAccuracy: true, timeout: 10000 });
    });
  } else if (locate) {
    locate.style.display = "none";
  }
  mapEl.gridMap = map;
})();
