/* The issue form without a connection: instead of being lost with the page, the report goes to
   the phone's outbox (offline-outbox.js) with its photos compressed to at most 500 KB each, and
   is sent when the connection returns. Online, the form is posted as always (if that post finds
   no connection, the service worker puts the report in the outbox instead).
   With ?outbox=<uuid> the form edits a report the server refused (its message is shown) and
   saves it back to the outbox. Markup: <div id="offline-form" data-user data-outbox-url
   data-*-text>; the form [data-testid=issue-form]. */
(function () {
  "use strict";
  var box = document.getElementById("offline-form");
  var form = document.querySelector("[data-testid=issue-form]");
  var out = window.GVOutbox;
  if (!box || !form || !out || !window.indexedDB || !window.Promise) { return; }
  var t = box.dataset;
  var status = document.getElementById("offline-status");
  var MAX_PHOTOS = 3;
  var editing = null;

  function say(text, kind) {
    status.textContent = "";
    if (!text) { return; }
    var div = document.createElement("div");
    div.className = "alert alert-" + (kind || "info") + " mb-2";
    div.setAttribute("role", "status");
    div.textContent = text;
    if (kind === "success" || kind === "warning") {
      div.appendChild(document.createTextNode(" "));
      var a = document.createElement("a");
      a.href = t.outboxUrl;
      a.className = "alert-link";
      a.textContent = t.outboxText;
      div.appendChild(a);
    }
    status.appendChild(div);
    status.scrollIntoView({ block: "nearest" });
  }
  function showOnline() {
    var note = document.getElementById("offline-note");
    if (note) { note.hidden = navigator.onLine !== false; }
  }
  window.addEventListener("online", showOnline);
  window.addEventListener("offline", showOnline);
  showOnline();

  /* Each report its own id, also when posted online (a second tap files it once; a post the
     service worker keeps offline is the same report). */
  var idField = form.querySelector("[data-role=client-uuid]");
  function newId() { if (idField) { idField.value = out.uuid(); } }
  newId();

  function missing() {
    var v = function (name) { var el = form.elements[name]; return el ? String(el.value || "").trim() : ""; };
    return !v("title") || !v("description") || !v("category") || (!v("lat") && !v("grid"));
  }
  function chosenPhotos() {
    var input = form.elements.photos;
    return input && input.files ? Array.prototype.slice.call(input.files) : [];
  }
  function save() {
    if (missing()) { say(t.missingText, "danger"); return Promise.resolve(); }
    var files = chosenPhotos();
    if (files.length > MAX_PHOTOS) { say(t.tooManyText, "danger"); return Promise.resolve(); }
    var button = form.querySelector("[type=submit]");
    if (button) { button.disabled = true; }
    say(t.savingText, "secondary");
    return Promise.all(files.map(out.compress)).then(function (photos) {
      var fields = out.formFields(new FormData(form)), title = form.elements.title.value.trim();
      if (!editing) { return out.add(t.user, fields, photos, title, idField && idField.value); }
      return out.update(editing.uuid, function (r) {
        r.fields = fields;
        r.title = title;
        if (files.length) { r.photos = photos; }
        if (/^made_at/.test(r.error)) { r.made_at = new Date().toISOString(); }
        if (r.error === "uuid_taken") { r.uuid_old = r.uuid; }
        r.state = "waiting"; r.attempts = 0; r.next_try = Date.now(); r.problem = "";
        r.message = ""; r.fields_errors = {}; r.error = "";
        return r;
      }).then(function (r) {
        /* Filed from another account: this person's report gets an id of its own. */
        if (r && r.uuid_old) {
          var copy = JSON.parse(JSON.stringify(r));
          copy.photos = r.photos;
          copy.uuid = out.uuid();
          delete copy.uuid_old;
          return out.put(copy).then(function () { return out.remove(r.uuid); });
        }
        return r;
      });
    }).then(function () {
      if (window.GVOutboxAskSync) { window.GVOutboxAskSync(); }
      if (editing) { window.location.href = t.outboxUrl; return; }
      form.reset();
      newId();
      say(t.savedText, "success");
      if (navigator.onLine !== false && window.GVOutboxSend) { window.GVOutboxSend(true); }
    }, function (err) {
      say(err && err.photo ? t.photoText.replace("{name}", err.photo) : t.storeFailedText, "danger");
    }).then(function () { if (button) { button.disabled = false; } });
  }
  /* Online the form is posted as always; when that post fails for want of a connection, the
     service worker keeps the report (sw.js). Offline, or editing a report, it goes to the outbox
     here. */
  form.addEventListener("submit", function (e) {
    if (!editing && navigator.onLine !== false) { return; }
    e.preventDefault();
    save();
  });

  /* ?outbox=<uuid>: edit a report of the outbox. */
  var wanted = new URLSearchParams(window.location.search).get("outbox");
  if (wanted) {
    out.get(wanted).then(function (r) {
      if (!r || r.state === "sent") { return; }
      editing = r;
      r.fields.forEach(function (kv) {
        var el = form.elements[kv[0]];
        if (el && el.type !== "file") { el.value = kv[1]; }
      });
      document.dispatchEvent(new CustomEvent("pin:changed"));
      var text = t.editingText.replace("{n}", String(r.photos.length)), seen = {};
      [r.message].concat(Object.keys(r.fields_errors || {}).map(function (k) {
        return r.fields_errors[k];
      })).forEach(function (m) {
        if (m && !seen[m]) { seen[m] = 1; text += " " + m; }
      });
      say(text, "warning");
      var button = form.querySelector("[type=submit]");
      if (button) { button.value = t.saveEditText; }
    });
  }
})();
