/* The phone's outbox of issue reports, and the sender that files them (README "Offline patrol
   reports"). Runs in pages and in the service worker (no DOM here): window.GVOutbox / self.GVOutbox.

   A report lives in IndexedDB ("gv-outbox", store "reports", key uuid):
     {uuid, user_id, fields: [[name, value]…], photos: [{name, type, data: ArrayBuffer}], title,
      made_at (ISO, the phone's clock), state: waiting|sending|sent|failed, attempts, next_try (ms),
      lease_until (ms), problem: network|server|login|refused, message, fields_errors, error,
      issue_id, url, sent_at}
   Photos are kept as ArrayBuffers (older Safari cannot store Blobs in IndexedDB).

   Sending: each report is claimed in its own IndexedDB transaction (a lease, so two tabs or a tab
   and the service worker do not send it at once) and posted with its uuid, the idempotency key:
   the server files a uuid once and answers the same issue number for a repeat. Only a 2xx answer
   that carries the number marks it sent (its photos are then dropped; a receipt is kept for a
   week). A 4xx keeps it, "failed", with the server's message for the person to fix; a 5xx or no
   answer is retried with exponential backoff. Reports are sent independently: one failing never
   blocks the others. Changes are announced on the BroadcastChannel "gv-outbox". */
(function (root) {
  "use strict";
  var DB_NAME = "gv-outbox", STORE = "reports", CHANNEL = "gv-outbox";
  /* A claim lasts LEASE_MS: a page closed mid-send leaves its report to others after that (or
     at once on "send now" / "online" once it is FORCE_MS old). A slow upload may then be sent
     twice at the same time; the server files it once all the same. */
  var LEASE_MS = 30000, FORCE_MS = 5000;
  var TIMEOUT_MS = 90000;
  var BASE_MS = 5000, MAX_MS = 15 * 60000;  /* backoff: 5 s, 10 s, 20 s … at most 15 min */
  var KEEP_SENT_MS = 7 * 24 * 3600 * 1000;
  var PARALLEL = 2;
  var dbPromise = null, running = null, channel = null;

  function openDb() {
    if (dbPromise) { return dbPromise; }
    dbPromise = new Promise(function (resolve, reject) {
      var req = root.indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        req.result.createObjectStore(STORE, { keyPath: "uuid" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { dbPromise = null; reject(req.error); };
    });
    return dbPromise;
  }
  /* Run fn(store) in one transaction; resolves with what fn put in out.value once committed. */
  function withStore(mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode), out = {};
        fn(tx.objectStore(STORE), out);
        tx.oncomplete = function () { resolve(out.value); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  function announce(uuid) {
    try {
      if (!channel && root.BroadcastChannel) { channel = new root.BroadcastChannel(CHANNEL); }
      if (channel) { channel.postMessage({ type: "changed", uuid: uuid || null }); }
    } catch (e) { /* no channel: pages also look again on their own */ }
  }
  function all() {
    return withStore("readonly", function (store, out) {
      var req = store.getAll();
      req.onsuccess = function () { out.value = req.result; };
    }).then(function (list) {
      return list.sort(function (a, b) { return a.made_at < b.made_at ? -1 : 1; });
    });
  }
  function get(uuid) {
    return withStore("readonly", function (store, out) {
      var req = store.get(uuid);
      req.onsuccess = function () { out.value = req.result; };
    });
  }
  function put(report) {
    return withStore("readwrite", function (store) { store.put(report); })
      .then(function () { announce(report.uuid); return report; });
  }
  function remove(uuid) {
    return withStore("readwrite", function (store) { store["delete"](uuid); })
      .then(function () { announce(uuid); });
  }
  /* Change a stored report in one transaction: fn(report) returns the new one, or null to leave
     it. Resolves with the stored result (null when nothing was changed). */
  function update(uuid, fn) {
    return withStore("readwrite", function (store, out) {
      var req = store.get(uuid);
      req.onsuccess = function () {
        var next = req.result ? fn(req.result) : null;
        if (next) { store.put(next); }
        out.value = next || null;
      };
    }).then(function (r) { if (r) { announce(uuid); } return r; });
  }
  function uuid4() {
    if (root.crypto && root.crypto.randomUUID) { return root.crypto.randomUUID(); }
    var b = root.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  var UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  /* A new report: fields as [name, value] pairs, photos as [{name, type, data}]; ``id``: the
     form's own report id, when it has one. */
  function add(userId, fields, photos, title, id) {
    var now = Date.now();
    return put({ uuid: UUID_RE.test(id || "") ? id : uuid4(), user_id: Number(userId), fields: fields, photos: photos || [],
                 title: title || "", made_at: new Date(now).toISOString(), state: "waiting",
                 attempts: 0, next_try: now, lease_until: 0, problem: "", message: "",
                 fields_errors: {}, error: "", issue_id: null, url: "", sent_at: null });
  }
  function backoff(attempts) {
    var ms = Math.min(BASE_MS * Math.pow(2, Math.max(0, attempts - 1)), MAX_MS);
    return Math.round(ms * (0.8 + Math.random() * 0.4));
  }
  function due(r, now, force) {
    if (r.state === "waiting") { return force || r.next_try <= now; }
    if (r.state !== "sending") { return false; }
    /* a sender that died mid-way (a page closed or left while sending) */
    return r.lease_until < now || (force && r.lease_until - LEASE_MS + FORCE_MS < now);
  }
  function claim(uuid, force) {
    var now = Date.now();
    return update(uuid, function (r) {
      if (!due(r, now, force)) { return null; }
      r.state = "sending";
      r.lease_until = now + LEASE_MS;
      return r;
    });
  }
  /* Put a claimed report back to wait: retried after the backoff (or at once when online
     returns, or on "send now"). A problem that is not the report's fault does not count. */
  function later(uuid, problem, message, counts) {
    return update(uuid, function (r) {
      if (counts) { r.attempts += 1; }
      r.state = "waiting";
      r.problem = problem;
      r.message = message || "";
      r.next_try = Date.now() + (counts ? backoff(r.attempts) : BASE_MS);
      r.lease_until = 0;
      return r;
    });
  }
  function token(urls) {
    return fetch(urls.tokenUrl, { credentials: "same-origin", cache: "no-store",
                                  redirect: "manual", headers: { "Accept": "application/json" } })
      .then(function (resp) {
        if (resp.type === "opaqueredirect" || resp.status === 401) { return { login: true }; }
        if (!resp.ok) { return { down: true, status: resp.status }; }
        return resp.json();
      }, function () { return { down: true }; });
  }
  function body(r, csrf) {
    var fd = new FormData();
    r.fields.forEach(function (kv) { fd.append(kv[0], kv[1]); });
    r.photos.forEach(function (p) {
      fd.append("photos", new Blob([p.data], { type: p.type || "image/jpeg" }), p.name || "photo.jpg");
    });
    fd.append("client_uuid", r.uuid);
    fd.append("made_at", r.made_at);
    fd.append("csrf_token", csrf);
    return fd;
  }
  function post(urls, r, csrf) {
    var ctrl = root.AbortController ? new root.AbortController() : null;
    var timer = ctrl ? setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS) : null;
    return fetch(urls.fileUrl, {
      method: "POST", body: body(r, csrf), credentials: "same-origin", redirect: "manual",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf },
      signal: ctrl ? ctrl.signal : undefined
    }).then(function (resp) {
      clearTimeout(timer);
      var status = resp.type === "opaqueredirect" ? 0 : resp.status;
      return resp.json().then(function (data) { return { status: status, data: data || {} }; },
                              function () { return { status: status, data: {} }; });
    }, function () { clearTimeout(timer); return { status: -1, data: {} }; });
  }
  /* Send one claimed report; resolves with what became of it ("sent", "failed", "waiting",
     "login" or "csrf"). */
  function sendOne(urls, r, csrf) {
    return post(urls, r, csrf).then(function (res) {
      var s = res.status, d = res.data;
      if (s >= 200 && s < 300 && d.id) {
        return update(r.uuid, function (x) {
          x.state = "sent"; x.issue_id = d.id; x.url = d.url || ""; x.sent_at = Date.now();
          x.photos = []; x.problem = ""; x.message = ""; x.fields_errors = {}; x.lease_until = 0;
          return x;
        }).then(function () { return "sent"; });
      }
      if (s === 0 || s === 401) {
        return later(r.uuid, "login", d.message, false).then(function () { return "login"; });
      }
      if (s === 400 && d.error === "csrf") {
        return later(r.uuid, "server", d.message, false).then(function () { return "csrf"; });
      }
      if (s >= 400 && s < 500 && [408, 425, 429].indexOf(s) < 0) {
        return update(r.uuid, function (x) {
          x.state = "failed"; x.problem = "refused"; x.error = d.error || String(s);
          x.message = d.message || ""; x.fields_errors = d.fields || {}; x.lease_until = 0;
          x.attempts += 1;
          return x;
        }).then(function () { return "failed"; });
      }
      /* 5xx, a 2xx without the number, or no answer at all: not filed as far as we know. */
      return later(r.uuid, s < 0 ? "network" : "server", d.message, true)
        .then(function () { return "waiting"; });
    });
  }
  function prune(list) {
    var old = Date.now() - KEEP_SENT_MS;
    return Promise.all(list.filter(function (r) { return r.state === "sent" && r.sent_at < old; })
      .map(function (r) { return remove(r.uuid); }));
  }
  /* Send every due report of the logged-in account. opts: {fileUrl, tokenUrl, force}.
     Resolves with {sent, failed, waiting, login, offline, next} (next: ms of the next retry). */
  function sendAll(opts) {
    if (running) { return running.then(function () { return sendAll(opts); }); }
    var result = { sent: 0, failed: 0, waiting: 0, login: false, offline: false, next: null };
    if (root.navigator && root.navigator.onLine === false) {
      result.offline = true;
      return Promise.resolve(result);
    }
    running = all().then(function (list) {
      return prune(list).then(function () {
        if (!list.some(function (r) { return r.state === "waiting" || r.state === "sending"; })) {
          return null;
        }
        return token(opts);
      }).then(function (tok) {
        if (!tok) { return; }
        if (tok.login) { result.login = true; return markLogin(list); }
        if (tok.down) { result.offline = true; return; }
        var mine = list.filter(function (r) { return r.user_id === tok.user_id; });
        var queue = mine.slice(), csrf = tok.csrf_token;
        function worker() {
          var r = queue.shift();
          if (!r || result.login) { return Promise.resolve(); }
          return claim(r.uuid, opts.force).then(function (claimed) {
            if (!claimed) { return null; }
            return sendOne(opts, claimed, csrf).then(function (what) {
              if (what !== "csrf") { return what; }
              return token(opts).then(function (t) {  /* once more with a fresh token */
                if (!t.csrf_token) { return "waiting"; }
                csrf = t.csrf_token;
                return claim(r.uuid, true).then(function (c) {
                  return c ? sendOne(opts, c, csrf) : "waiting";
                });
              });
            });
          }).then(function (what) {
            if (what === "sent") { result.sent += 1; }
            else if (what === "failed") { result.failed += 1; }
            else if (what === "login") { result.login = true; }
          }, function () { /* storage trouble with one report: the others go on */ })
            .then(worker);
        }
        var workers = [];
        for (var i = 0; i < PARALLEL; i++) { workers.push(worker()); }
        return Promise.all(workers);
      });
    }).then(function () { return all(); }).then(function (list) {
      list.forEach(function (r) {
        if (r.state === "waiting" || r.state === "sending") {
          result.waiting += 1;
          var at = r.state === "waiting" ? r.next_try : r.lease_until + 1;
          if (result.next === null || at < result.next) { result.next = at; }
        }
      });
      return result;
    });
    var done = function () { running = null; };
    running.then(done, done);
    return running;
  }
  function markLogin(list) {
    return Promise.all(list.filter(function (r) { return r.state === "waiting"; }).map(function (r) {
      return update(r.uuid, function (x) { x.problem = "login"; return x; });
    }));
  }

  /* Photos: at most 500 KB of JPEG each (upright, at most 1,600 px a side; lower quality, then
     smaller, until it fits), drawn on an OffscreenCanvas (also in the service worker) or a
     canvas. A file that cannot be drawn is kept as it is when it is under the server's 5 MB
     (the server then says what is wrong with it); a larger one is refused here. */
  var PHOTO_BYTES = 500 * 1024, PHOTO_SIDE = 1600, RAW_MAX = 5 * 1024 * 1024;
  var QUALITIES = [0.85, 0.75, 0.65, 0.55, 0.45];
  function decode(blob) {
    if (root.createImageBitmap) {
      return root.createImageBitmap(blob, { imageOrientation: "from-image" })["catch"](function () {
        return root.createImageBitmap(blob);
      });
    }
    if (!root.document) { return Promise.reject(new Error("no decoder")); }
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () {
        var img = new Image();
        img.onload = function () { resolve(img); };
        img.onerror = reject;
        img.src = reader.result;  /* a data: URL (the CSP allows no blob: images) */
      };
      reader.onerror = reject;
      reader.readAsDataURL(blob);
    });
  }
  function canvasOf(w, h) {
    if (root.OffscreenCanvas) { return new root.OffscreenCanvas(w, h); }
    var c = root.document.createElement("canvas");
    c.width = w;
    c.height = h;
    return c;
  }
  function encode(canvas, q) {
    if (canvas.convertToBlob) { return canvas.convertToBlob({ type: "image/jpeg", quality: q }); }
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", q); });
  }
  function shrink(img, side) {
    var k = Math.min(1, side / Math.max(img.width, img.height));
    var canvas = canvasOf(Math.max(1, Math.round(img.width * k)), Math.max(1, Math.round(img.height * k)));
    var ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    function attempt(i) {
      return encode(canvas, QUALITIES[i]).then(function (blob) {
        if (!blob) { throw new Error("canvas"); }
        if (blob.size <= PHOTO_BYTES) { return blob; }
        if (i + 1 < QUALITIES.length) { return attempt(i + 1); }
        return side > 400 ? shrink(img, Math.round(side * 0.7)) : blob;
      });
    }
    return attempt(0);
  }
  function buffer(blob) {
    if (blob.arrayBuffer) { return blob.arrayBuffer(); }
    return new Promise(function (resolve, reject) {
      var r = new FileReader();
      r.onload = function () { resolve(r.result); };
      r.onerror = reject;
      r.readAsArrayBuffer(blob);
    });
  }
  /* One photo for the outbox: {name, type, data}; rejects with {photo: name} when too large. */
  function compress(file) {
    var name = file.name || "photo.jpg";
    var small = file.size <= PHOTO_BYTES && /^image\/(jpeg|png)$/.test(file.type);
    var made = small ? Promise.resolve(null) : decode(file).then(function (img) {
      return shrink(img, PHOTO_SIDE);
    });
    return made.then(function (blob) {
      if (blob) { return { name: name.replace(/\.[^.]*$/, "") + ".jpg", type: "image/jpeg", blob: blob }; }
      return { name: name, type: file.type, blob: file };
    }, function () {
      if (file.size > RAW_MAX) { throw { photo: name }; }
      return { name: name, type: file.type || "application/octet-stream", blob: file };
    }).then(function (p) {
      return buffer(p.blob).then(function (data) { return { name: p.name, type: p.type, data: data }; });
    });
  }
  /* Fields of the issue form's FormData (the token, photos and button left out). */
  var SKIP = { csrf_token: 1, photos: 1, submit: 1, outbox_user: 1, client_uuid: 1 };
  function formFields(fd) {
    var fields = [];
    fd.forEach(function (value, name) {
      if (!SKIP[name] && typeof value === "string") { fields.push([name, value]); }
    });
    return fields;
  }
  function fieldValue(fields, name) {
    var hit = fields.filter(function (kv) { return kv[0] === name; })[0];
    return hit ? hit[1].trim() : "";
  }
  /* A report from the issue form's FormData (the service worker's path: the post failed). */
  function fromForm(fd) {
    var fields = formFields(fd);
    var files = fd.getAll("photos").filter(function (f) { return f && f.size; }).slice(0, 3);
    return Promise.all(files.map(function (f) {
      return compress(f)["catch"](function () { return null; });
    })).then(function (photos) {
      return add(fd.get("outbox_user"), fields, photos.filter(Boolean), fieldValue(fields, "title"),
                 fd.get("client_uuid"));
    });
  }

  root.GVOutbox = { all: all, get: get, put: put, add: add, remove: remove, update: update,
                    sendAll: sendAll, uuid: uuid4, compress: compress, formFields: formFields,
                    fromForm: fromForm, CHANNEL: CHANNEL };
})(typeof self !== "undefined" ? self : window);
