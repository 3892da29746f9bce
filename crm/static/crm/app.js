// Branch CRM: the little JavaScript the pages use. Everything works without it; this adds
// charts, live waiting clocks and a keyboard shortcut. No inline scripts, no network calls.
(function () {
  "use strict";

  function drawCharts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source || el.dataset.drawn) return;
      var figure = JSON.parse(source.textContent);
      el.dataset.drawn = "1";
      window.Plotly.newPlot(el, figure.data, figure.layout, {
        responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"],
      });
    });
  }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function tickClocks() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var seconds = Math.max(0, Math.floor((now - Date.parse(el.dataset.since)) / 1000));
      el.textContent = Math.floor(seconds / 60) + ":" + pad(seconds % 60);
    });
  }

  document.addEventListener("keydown", function (event) {
    // "/" jumps to the customer search, as in most tools people use all day.
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    var search = document.querySelector("[data-shortcut='search']");
    if (search) { event.preventDefault(); search.focus(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    tickClocks();
    if (document.querySelector("[data-since]")) window.setInterval(tickClocks, 1000);
  });
  document.addEventListener("htmx:afterSwap", function (event) { drawCharts(event.target); });
})();
