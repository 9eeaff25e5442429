// The dashboard's charts, from the figures the server put on each canvas: the share of
// devices compliant over time (a line per determination in force, from the compliance
// history) and devices by compliance status now (the table beside them holds the same).
// Drawn on load and again each time htmx replaces the compliance part (every 5 s).
(function () {
  "use strict";
  var COLOURS = {
    compliant: "#1d6b34",
    non_compliant: "#a4161a",
    pending: "#8a6d00",
    exempt: "#4a5562",
    unreachable: "#6a3d9a",
    cannot_enforce: "#0b4fa8"
  };
  var LINES = ["#0b4fa8", "#1d6b34", "#a4161a", "#8a6d00", "#6a3d9a", "#1b1f24"];

  function figures(id) {
    var canvas = document.getElementById(id);
    if (!canvas || typeof Chart === "undefined") {
      return null;
    }
    var previous = Chart.getChart(canvas);
    if (previous) {
      previous.destroy();
    }
    return {canvas: canvas, data: JSON.parse(canvas.getAttribute("data-figures"))};
  }

  function time(value) {
    return new Date(value).toISOString().slice(5, 19).replace("T", " ");
  }

  function drawTrend() {
    var found = figures("trend-chart");
    if (!found) {
      return;
    }
    new Chart(found.canvas, {
      type: "line",
      data: {
        datasets: found.data.datasets.map(function (set, index) {
          return {
            label: set.label,
            data: set.points.map(function (p) { return {x: p[0], y: p[1]}; }),
            borderColor: LINES[index % LINES.length],
            backgroundColor: LINES[index % LINES.length],
            stepped: true,
            spanGaps: true
          };
        })
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        responsive: true,
        scales: {
          x: {type: "linear", ticks: {callback: time, maxTicksLimit: 6}},
          y: {min: 0, max: 100, title: {display: true, text: found.data.axis}}
        },
        plugins: {tooltip: {callbacks: {title: function (items) {
          return items.length ? time(items[0].parsed.x) + " UTC" : "";
        }}}}
      }
    });
  }

  function drawNow() {
    var found = figures("compliance-chart");
    if (!found) {
      return;
    }
    new Chart(found.canvas, {
      type: "bar",
      data: {
        labels: found.data.labels,
        datasets: found.data.datasets.map(function (set) {
          return {label: set.label, data: set.data, backgroundColor: COLOURS[set.status] || "#1b1f24"};
        })
      },
      options: {
        indexAxis: "y",
        animation: false,
        maintainAspectRatio: false,
        responsive: true,
        scales: {x: {stacked: true, beginAtZero: true, ticks: {precision: 0}}, y: {stacked: true}}
      }
    });
  }

  function draw() {
    drawTrend();
    drawNow();
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSwap", draw);
}());
