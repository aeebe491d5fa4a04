// GovDesk shell behaviour. No inline scripts (the CSP forbids them): everything hooks on data- attributes.
(function () {
  "use strict";

  function initCharts(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.chartReady) return;
      var source = document.getElementById(el.dataset.chart);
      if (!source) return;
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(JSON.parse(source.textContent));
      el.dataset.chartReady = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  // Confirmation before destructive actions: <form data-confirm="确定撤销？">
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  document.addEventListener("DOMContentLoaded", function () { initCharts(document); });
  document.addEventListener("htmx:afterSettle", function (event) { initCharts(event.target); });
})();
