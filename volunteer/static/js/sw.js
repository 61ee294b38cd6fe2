/* The service worker, served at /sw.js with self.GV_SW set in front of this file (by
   volunteer/offline/routes.py: the app shell with content hashes, the Workbox folder, the
   outbox's URLs). Workbox 7 is vendored under static/vendor/workbox/ (workbox-sw loads its
   module files from there, never from a CDN).
   - The app shell (CSS, JS, icons, fonts) is precached; other static files are served from a
     cache and refreshed behind (stale-while-revalidate).
   - The issue form, the outbox page and the home page carry a CSRF token and the person's name:
     they are fetched from the network first and kept ("gv-pages") for when there is none. The
     outbox's sender asks for a fresh token before it sends, so a kept page's old token is never
     what files a report. Pages are kept fresh by a "warm" message from pwa.js.
   - Any other page asked for without a connection gets the kept outbox page.
   - The issue form posted when the connection is gone after all: the report goes to the outbox.
   - Background Sync ("gv-outbox"): the browser wakes this worker when the connection returns and
     it sends the outbox (offline-outbox.js, the same code the pages run). */
/* global GV_SW, GVOutbox, workbox */
"use strict";
importScripts(GV_SW.workbox + "workbox-sw.js");
workbox.setConfig({ modulePathPrefix: GV_SW.workbox, debug: false });
importScripts(GV_SW.outboxScript);

var PAGES = "gv-pages";
var SYNC_TAG = "gv-outbox";
var pagePaths = GV_SW.pages.map(function (u) { return new URL(u, self.location).pathname; });

workbox.core.setCacheNameDetails({ prefix: "gv" });
self.skipWaiting();
workbox.core.clientsClaim();
workbox.precaching.cleanupOutdatedCaches();
workbox.precaching.precacheAndRoute(GV_SW.precache);

var pageStrategy = new workbox.strategies.NetworkFirst({
  cacheName: PAGES,
  networkTimeoutSeconds: 6,
  matchOptions: { ignoreSearch: true },
  plugins: [new workbox.cacheableResponse.CacheableResponsePlugin({ statuses: [200] })]
});
workbox.routing.registerRoute(function (o) {
  return o.request.mode === "navigate" && pagePaths.indexOf(o.url.pathname) >= 0;
}, pageStrategy);
workbox.routing.registerRoute(function (o) {
  return o.request.mode === "navigate";
}, new workbox.strategies.NetworkOnly());
/* The issue form posted with a signal that is not there: keep the report in the outbox and
   show the outbox (kept) instead of the browser's error page. */
workbox.routing.registerRoute(function (o) {
  return o.request.mode === "navigate" && o.url.pathname === GV_SW.formPath;
}, function (o) {
  var copy = o.request.clone();
  return fetch(o.request)["catch"](function () {
    return copy.formData().then(function (fd) { return GVOutbox.fromForm(fd); }).then(function () {
      return Response.redirect(GV_SW.fallback + "?saved=1", 303);
    });
  });
}, "POST");
workbox.routing.registerRoute(function (o) {
  return o.sameOrigin && o.url.pathname.indexOf("/static/") === 0;
}, new workbox.strategies.StaleWhileRevalidate({
  cacheName: "gv-static",
  plugins: [new workbox.cacheableResponse.CacheableResponsePlugin({ statuses: [200] }),
            new workbox.expiration.ExpirationPlugin({ maxEntries: 80 })]
}));
workbox.routing.setCatchHandler(function (o) {
  if (o.request.mode !== "navigate") { return Promise.resolve(Response.error()); }
  return caches.open(PAGES).then(function (cache) {
    return cache.match(o.request, { ignoreSearch: true }).then(function (hit) {
      return hit || cache.match(GV_SW.fallback, { ignoreSearch: true });
    });
  }).then(function (hit) { return hit || Response.error(); });
});

/* Fetch the kept pages again (at most every few minutes): a 200 for the logged-in person
   replaces the old copy; a redirect to the login page is not kept. */
var warmedAt = 0;
function warm() {
  if (Date.now() - warmedAt < 3 * 60000) { return Promise.resolve(); }
  warmedAt = Date.now();
  return caches.open(PAGES).then(function (cache) {
    return Promise.all(GV_SW.pages.map(function (url) {
      return fetch(url, { credentials: "same-origin", redirect: "manual" }).then(function (resp) {
        if (resp.status === 200 && !resp.redirected) { return cache.put(url, resp); }
        return null;
      })["catch"](function () { return null; });
    }));
  });
}
self.addEventListener("message", function (e) {
  if (e.data && e.data.type === "warm") { e.waitUntil(warm()); }
});

function sendOutbox() {
  return GVOutbox.sendAll({ fileUrl: GV_SW.fileUrl, tokenUrl: GV_SW.tokenUrl, force: true })
    .then(function (res) {
      if (res.waiting && !res.login) {
        throw new Error("reports still waiting");  /* the browser tries the sync again later */
      }
    });
}
self.addEventListener("sync", function (e) {
  if (e.tag === SYNC_TAG) { e.waitUntil(sendOutbox()); }
});
