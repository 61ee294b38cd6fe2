/* Chart.js charts from <canvas class="js-chart" data-chart='{"type", "labels", "datasets",
   "indexAxis"?}'>. Every chart has its table next to it, so without script nothing is lost. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var palette = ["#b71c1c", "#1565c0", "#2e7d32", "#f9a825", "#6a1b9a", "#00838f", "#ef6c00",
                 "#5d4037", "#546e7a", "#ad1457", "#9e9d24", "#283593"];
  document.querySelectorAll("canvas.js-chart").forEach(function (el) {
    var spec = JSON.parse(el.dataset.chart);
    var round = spec.type === "doughnut" || spec.type === "pie";
    spec.datasets.forEach(function (ds, i) {
      if (round) { ds.backgroundColor = palette.slice(0, spec.labels.length); }
      else { ds.backgroundColor = palette[i % palette.length]; ds.borderColor = palette[i % palette.length]; }
    });
    new Chart(el, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 indexAxis: spec.indexAxis || "x",
                 plugins: { legend: { display: round || spec.datasets.length > 1 } } }
    });
  });
})();
