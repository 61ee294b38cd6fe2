/* A map to drop a pin on: <div id="pin-map" data-tiles data-attribution data-datum data-center
   data-lookup>. The pin fills the inputs [data-role=lat] and [data-role=lon] (in WGS-84, whatever
   datum the tiles use), asks data-lookup for the grid there and selects it in [data-role=village]
   and [data-role=grid] when present. The button [data-role=locate] uses the phone's position
   (data-waiting, data-refused, data-far and data-rough hold what to say). Each change of the pin
   fires "pin:changed" on the document.
   Before the grid found at a pin is selected, a cancelable "pin:grid" event goes to the document
   (detail: the lookup's answer, fromPhone, apply() and revert()); a listener that cancels it
   (the volunteer form, to ask first) calls apply() to select that grid, or revert() to put the
   pin back where it was (or remove it). Without a listener the grid is selected at once.
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
  /* The pin last accepted (where revert() puts it back) and the latest lookup (older answers
     that arrive late are dropped). */
  var kept = has ? [latIn.value, lonIn.value] : null;
  var asked = 0;

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
    if (!mapEl.dataset.lookup) { kept = [latIn.value, lonIn.value]; return; }
    var mine = ++asked;
    fetch(mapEl.dataset.lookup + "?lat=" + latIn.value + "&lon=" + lonIn.value)
      .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
      .then(function (res) {
        if (mine !== asked) { return; }
        if (!res[0]) {
          if (fromPhone && locate && locate.dataset.far) {
            clearPin();
            kept = null;
            map.setView(datum.toMap(center[0], center[1]), 13);
            say(locate.dataset.far);
          } else {
            kept = [latIn.value, lonIn.value];
            say(res[1].message);
          }
          return;
        }
        var found = res[1], done = false;
        function apply() {
          if (done || mine !== asked) { return; }
          done = true;
          kept = [latIn.value, lonIn.value];
          if (village) {
            village.value = found.village;
            village.dispatchEvent(new CustomEvent("change", { detail: { pin: true } }));
          }
          if (grid) { grid.value = found.grid; }
          var where = found.village_name + " · " + found.name;
          if (fromPhone && accuracy > 200 && locate && locate.dataset.rough) {
            where += " — " + locate.dataset.rough.replace("{m}", Math.round(accuracy));
          }
          say(where);
        }
        function revert() {
          if (done || mine !== asked) { return; }
          done = true;
          if (kept) {
            latIn.value = kept[0];
            lonIn.value = kept[1];
            place(Number(kept[0]), Number(kept[1]));
            say(kept[0] + ", " + kept[1]);
            document.dispatchEvent(new CustomEvent("pin:changed"));
          } else {
            clearPin();
            say("");
          }
        }
        var ask = new CustomEvent("pin:grid", { cancelable: true, detail: {
          grid: found.grid, name: found.name, village: found.village,
          village_name: found.village_name, fromPhone: !!fromPhone, apply: apply, revert: revert } });
        if (document.dispatchEvent(ask)) { apply(); }
      })
      .catch(function () {
        /* offline: the pin stays, the grid is chosen by hand */
        if (mine === asked) { kept = [latIn.value, lonIn.value]; }
      });
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
