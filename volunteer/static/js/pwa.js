/* On every page: register the service worker (/sw.js) and, for a logged-in person, send the
   reports waiting in the phone's outbox (offline-outbox.js) at page load, when the connection
   returns ("online") and when a retry is due; ask for Background Sync so that the browser sends
   them even when no page is open. Markup: <script src=pwa.js data-sw data-file-url
   data-token-url data-user>. Logging out clears the pages the service worker keeps. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me) { return; }
  var cfg = me.dataset;
  var sw = navigator.serviceWorker;
  var SYNC_TAG = "gv-outbox";
  if (sw && cfg.sw) {
    window.addEventListener("load", function () {
      sw.register(cfg.sw, { scope: "/" }).then(function () {
        return sw.ready;
      }).then(function (reg) {
        /* Keep the issue form and the outbox page fresh for the next time there is no signal. */
        if (cfg.user && reg.active) { reg.active.postMessage({ type: "warm" }); }
      })["catch"](function () { /* no service worker (private mode, old browser): pages still work */ });
    });
  }
  var out = window.GVOutbox;
  if (!cfg.user || !out) { return; }
  var urls = { fileUrl: cfg.fileUrl, tokenUrl: cfg.tokenUrl };
  var timer = null;

  function askSync() {
    if (!sw) { return; }
    sw.ready.then(function (reg) {
      if (reg.sync) { return reg.sync.register(SYNC_TAG); }
      return null;
    })["catch"](function () { /* no Background Sync: the pages send on load and when online */ });
  }
  /* Send now; then come back when the next retry is due (while this page stays open). */
  function send(force) {
    clearTimeout(timer);
    return out.sendAll({ fileUrl: urls.fileUrl, tokenUrl: urls.tokenUrl, force: !!force })
      .then(function (res) {
        if (res.waiting) { askSync(); }
        if (res.next !== null && !res.login && navigator.onLine !== false) {
          /* the server unreachable on a connection that looks alive: look again in a while */
          var wait = Math.max(res.offline ? 15000 : 1000, res.next - Date.now());
          timer = setTimeout(send, wait);
        }
        document.dispatchEvent(new CustomEvent("outbox:sent", { detail: res }));
        return res;
      }, function () { return null; });
  }
  window.GVOutboxSend = send;
  window.GVOutboxAskSync = askSync;
  window.addEventListener("online", function () { send(true); });
  if (sw) {
    sw.addEventListener("message", function (e) {
      if (e.data && e.data.type === "outbox-send") { send(false); }
    });
  }
  document.addEventListener("submit", function (e) {
    if (e.target && e.target.querySelector("[data-testid=logout]") && window.caches) {
      caches["delete"]("gv-pages");  /* the next person on this phone sees none of it */
    }
  }, true);
  send(false);
})();
