/* The call-up's live page: fetch its JSON every few seconds and put the new counts, texts,
   badges and buttons in place (with textContent and attributes only: nothing from the data is
   parsed as HTML), and each grid's people in their new order. The people of a call-up are
   fixed when it starts, so every row is already on the page. Pauses while the page is hidden
   and stops when the call-up is over. */
(function () {
  "use strict";
  var box = document.getElementById("board");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-live-url");
  var every = Math.max(5, parseInt(box.getAttribute("data-refresh"), 10) || 10) * 1000;
  var stamp = document.querySelector("[data-live-updated]");
  var timer = null;

  function text(root, selector, value) {
    var el = root.querySelector(selector);
    if (el && el.textContent !== value) { el.textContent = value; }
  }

  function apply(data) {
    Object.keys(data.counts).forEach(function (key) {
      text(box, "[data-count='" + key + "']", String(data.counts[key]));
    });
    text(box, "[data-role=line]", data.line);
    text(box, "[data-role=quorum]", data.quorum);
    data.grids.forEach(function (g) {
      var card = box.querySelector("details[data-grid='" + CSS.escape(g.key) + "']");
      if (!card) { return; }
      text(card, "[data-role=tally]", g.summary);
      var list = card.querySelector("[data-role=people]");
      g.order.forEach(function (id) {
        var row = list.querySelector("[data-person='" + id + "']");
        var p = data.people[String(id)];
        if (!row || !p) { return; }
        row.setAttribute("data-state", p.state);
        var badge = row.querySelector("[data-role=badge]");
        badge.className = "badge text-bg-" + p.style;
        text(row, "[data-role=badge]", p.label);
        text(row, "[data-role=time]", p.time);
        text(row, "[data-role=where]", p.where);
        row.querySelector("[data-role=arrive]").hidden = !p.arrive;
        row.querySelector("[data-role=leave]").hidden = !p.leave;
        list.appendChild(row);  // moves the row: the list ends in the new order
      });
    });
    if (stamp) { stamp.textContent = new Date().toLocaleTimeString(); }
  }

  function refresh() {
    if (document.hidden) { return; }
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        apply(data);
        if (data.status !== "open" && timer) { clearInterval(timer); }
      })
      .catch(function () { /* the next round tries again */ });
  }

  timer = setInterval(refresh, every);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
})();
