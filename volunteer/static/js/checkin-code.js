/* The organiser's check-in code ([data-checkin-code]): every few seconds ask the page's JSON
   (data-src, same origin) for the code of this moment and the counts. When the code's window
   changed, swap the QR image (a data: URI made by the server) and its link; put the counts in
   place as text. Nothing is parsed as HTML. When the check-in has closed, reload the page. */
(function () {
  "use strict";
  var box = document.querySelector("[data-checkin-code]");
  if (!box) { return; }
  var img = box.querySelector("img[data-checkin-link]");
  var line = box.querySelector("[data-role=line]");
  var src = box.getAttribute("data-src");
  var COUNTS_EVERY = 20; // seconds: who is here changes more often than the code

  function schedule(seconds) {
    window.setTimeout(refresh, Math.max(1, Math.min(seconds, COUNTS_EVERY)) * 1000);
  }

  function refresh() {
    fetch(src, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (resp) {
        if (!resp.ok) { throw new Error(String(resp.status)); }
        return resp.json();
      })
      .then(function (data) {
        if (line && typeof data.line === "string") { line.textContent = data.line; }
        if (!data.code) { window.location.reload(); return; }
        if (String(data.code.window) !== box.getAttribute("data-window")) {
          img.src = data.code.qr;
          img.setAttribute("data-checkin-link", data.code.link);
          box.setAttribute("data-window", String(data.code.window));
        }
        schedule(data.code.refresh_in);
      })
      .catch(function () { schedule(15); });
  }

  schedule(parseInt(box.getAttribute("data-refresh"), 10) || COUNTS_EVERY);
})();
