/* The outbox page: the reports kept on this phone (offline-outbox.js) — waiting (and why, and
   when they are tried next), refused by the server (its message, with Edit and Delete), sent
   (with the issue's number). "Send now" sends at once; the list follows every change (the
   BroadcastChannel of the outbox, and a look every few seconds). Texts come from data-*-text
   attributes of <div id="outbox">; everything is inserted as text. */
(function () {
  "use strict";
  var root = document.getElementById("outbox");
  var out = window.GVOutbox;
  if (!root) { return; }
  var t = root.dataset;
  var user = Number(t.user);
  var fmt = window.Intl ? new Intl.DateTimeFormat(t.locale, {
    month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" }) : null;
  var lists = {};
  ["failed", "waiting", "sent"].forEach(function (s) {
    lists[s] = root.querySelector("section[data-state=" + s + "] ul");
  });
  var conn = root.querySelector("[data-role=connection]");

  function when(ms) { var d = new Date(ms); return fmt ? fmt.format(d) : d.toLocaleString(); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function line(r) {
    var bits = [t.madeText.replace("{time}", when(Date.parse(r.made_at)))];
    if (r.photos && r.photos.length) { bits.push(t.photosText.replace("{n}", r.photos.length)); }
    if (r.state === "sent" && r.sent_at) { bits.push(t.arrivedText.replace("{time}", when(r.sent_at))); }
    if (r.state !== "sent" && r.attempts) { bits.push(t.attemptsText.replace("{n}", r.attempts)); }
    return bits.join(" · ");
  }
  function item(r) {
    var li = el("li", "border rounded p-2 mb-2");
    li.dataset.uuid = r.uuid;
    li.dataset.state = r.state;
    li.appendChild(el("div", "fw-bold text-break", r.title || t.untitledText));
    li.appendChild(el("div", "small text-muted", line(r)));
    if (r.state === "sent") {
      var p = el("div", "small");
      var a = el("a", "", t.sentText.replace("{n}", r.issue_id));
      a.href = r.url || "#";
      a.dataset.testid = "sent-link";
      p.appendChild(a);
      li.appendChild(p);
      var dismiss = el("button", "btn btn-link btn-sm p-0", t.dismissText);
      dismiss.type = "button";
      dismiss.addEventListener("click", function () { out.remove(r.uuid).then(render); });
      li.appendChild(dismiss);
      return li;
    }
    if (r.state === "failed") {
      li.classList.add("border-danger");
      var msgs = [], seen = {};
      [r.message].concat(Object.keys(r.fields_errors || {}).map(function (k) {
        return r.fields_errors[k];
      })).forEach(function (m) { if (m && !seen[m]) { seen[m] = 1; msgs.push(m); } });
      li.appendChild(el("div", "small text-danger", t.failedText));
      msgs.forEach(function (m) {
        var d = el("div", "small text-danger", m);
        d.dataset.testid = "failed-message";
        li.appendChild(d);
      });
      var row = el("div", "d-flex gap-2 mt-2");
      var edit = el("a", "btn btn-outline-primary btn-sm", t.editText);
      edit.href = t.formUrl + "?outbox=" + encodeURIComponent(r.uuid);
      var del = el("button", "btn btn-outline-danger btn-sm", t.deleteText);
      del.type = "button";
      del.addEventListener("click", function () {
        if (window.confirm(t.confirmText)) { out.remove(r.uuid).then(render); }
      });
      row.appendChild(edit);
      row.appendChild(del);
      li.appendChild(row);
      return li;
    }
    var why = r.state === "sending" ? t.sendingText : t.waitingText;
    var problem = { network: t.networkText, server: t.serverText, login: t.loginText }[r.problem];
    if (problem) { why += " — " + problem; }
    if (r.state === "waiting" && r.attempts && r.next_try > Date.now()) {
      why += " (" + t.nextText.replace("{time}", when(r.next_try)) + ")";
    }
    li.appendChild(el("div", "small", why));
    return li;
  }
  function render() {
    conn.textContent = navigator.onLine === false ? t.offlineText : t.onlineText;
    if (!out || !window.indexedDB) {
      root.querySelector("[data-role=empty]").hidden = false;
      root.querySelector("[data-role=empty]").textContent = t.noStorageText;
      return Promise.resolve();
    }
    return out.all().then(function (list) {
      var mine = list.filter(function (r) { return r.user_id === user; });
      var others = list.length - mine.length;
      Object.keys(lists).forEach(function (s) {
        var ul = lists[s];
        ul.textContent = "";
        mine.filter(function (r) {
          return s === "waiting" ? (r.state === "waiting" || r.state === "sending") : r.state === s;
        }).forEach(function (r) { ul.appendChild(item(r)); });
        ul.parentNode.querySelector("h2").hidden = !ul.children.length;
      });
      var empty = root.querySelector("[data-role=empty]");
      empty.textContent = t.emptyText;
      empty.hidden = mine.length > 0;
      var o = root.querySelector("[data-role=others]");
      o.textContent = t.othersText.replace("{n}", others);
      o.hidden = !others;
    })["catch"](function () { /* storage unavailable: the note above says so */ });
  }
  root.querySelector("[data-role=send-now]").addEventListener("click", function () {
    if (window.GVOutboxSend) { window.GVOutboxSend(true).then(render); }
  });
  /* ?saved=1: the service worker kept a report whose post found no connection. */
  if (/[?&]saved=1/.test(window.location.search)) {
    root.querySelector("[data-role=saved]").hidden = false;
  }
  /* iPhone and iPad: Safari keeps a site's storage only 7 days unless it is on the home screen. */
  var ios = /iPhone|iPad|iPod/.test(navigator.userAgent) ||
    (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  if (ios && !navigator.standalone) { root.querySelector("[data-role=ios-note]").hidden = false; }
  if (navigator.storage && navigator.storage.persist) { navigator.storage.persist()["catch"](function () {}); }
  window.addEventListener("online", render);
  window.addEventListener("offline", render);
  document.addEventListener("outbox:sent", render);
  if (window.BroadcastChannel && out) {
    new BroadcastChannel(out.CHANNEL).onmessage = render;
  }
  setInterval(render, 5000);
  render();
})();
