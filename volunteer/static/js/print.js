/* A [data-print] button prints the page (the stylesheet hides what paper does not need). */
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
})();
