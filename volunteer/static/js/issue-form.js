/* The issue form's duplicate hint: while the reporter types (and whenever the pin moves), open
   issues within 300 m that look alike are listed with a "Me too" button, which adds the reporter
   to that issue instead of filing a new one. Markup: <div id="similar" data-src data-*-text>;
   the pin inputs [data-role=lat] / [data-role=lon]; pin.js fires "pin:changed"; "Me too" posts
   <form id="me-too-form"> (it carries the CSRF token) to the issue's address. Texts from the
   server are inserted as text, never as HTML. */
(function () {
  "use strict";
  var box = document.getElementById("similar");
  var form = document.querySelector("[data-testid=issue-form]");
  if (!box || !form || !window.fetch) { return; }
  var lat = form.querySelector("[data-role=lat]");
  var lon = form.querySelector("[data-role=lon]");
  var title = form.querySelector("#title");
  var description = form.querySelector("#description");
  var category = form.querySelector("#category");
  var meToo = document.getElementById("me-too-form");
  var timer = null, last = "";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function render(data) {
    box.textContent = "";
    if (!data.items.length) { return; }
    var card = el("div", "border border-warning rounded p-2 mb-3 bg-warning-subtle");
    card.appendChild(el("div", "fw-bold mb-1", box.dataset.heading));
    var list = el("ul", "list-unstyled mb-0");
    data.items.forEach(function (it) {
      var li = el("li", "d-flex flex-wrap align-items-center gap-2 py-1 border-top");
      li.dataset.issue = it.id;
      var text = el("div", "flex-grow-1 small");
      var head = it.title ? "#" + it.id + " " + it.title : it.category;
      if (it.url) { var a = el("a", "", head); a.href = it.url; text.appendChild(a); }
      else { text.appendChild(el("strong", "", head)); }
      if (it.likely) { text.appendChild(document.createTextNode(" ")); text.appendChild(el("span", "badge text-bg-warning", box.dataset.likelyText)); }
      text.appendChild(el("div", "text-muted", [it.title ? it.category : null, it.village, it.distance_m + " m", it.status, it.reported].filter(Boolean).join(" · ")));
      li.appendChild(text);
      if (it.me_too && meToo) {
        /* The button submits the small form outside the issue form (forms do not nest). */
        var b = el("button", "btn btn-sm btn-warning", box.dataset.meTooText);
        b.type = "submit";
        b.setAttribute("form", meToo.id);
        b.setAttribute("formaction", it.me_too);
        li.appendChild(b);
      }
      list.appendChild(li);
    });
    card.appendChild(list);
    card.appendChild(el("div", "small text-muted mt-1", box.dataset.footText));
    box.appendChild(card);
  }
  function check() {
    if (!lat || !lat.value || !lon.value) { box.textContent = ""; return; }
    var q = "?lat=" + encodeURIComponent(lat.value) + "&lon=" + encodeURIComponent(lon.value) +
      "&text=" + encodeURIComponent(((title && title.value) || "") + " " + ((description && description.value) || "")) +
      "&category=" + encodeURIComponent((category && category.value) || "");
    if (q === last) { return; }
    last = q;
    fetch(box.dataset.src + q, { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(render)
      .catch(function () { /* offline: no hint, the form still works */ });
  }
  function later() { clearTimeout(timer); timer = setTimeout(check, 400); }
  [title, description].forEach(function (i) { if (i) { i.addEventListener("input", later); } });
  if (category) { category.addEventListener("change", later); }
  document.addEventListener("pin:changed", later);
  check();
})();
