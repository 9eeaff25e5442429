// The dashboard's chart: devices by compliance status, per determination in force, from
// the figures the server put on the canvas (the table beside it holds the same). Drawn on
// load and again each time htmx replaces the compliance part.
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

  function draw() {
    var canvas = document.getElementById("compliance-chart");
    if (!canvas || typeof Chart === "undefined") {
      return;
    }
    var figures = JSON.parse(canvas.getAttribute("data-figures"));
    var previous = Chart.getChart(canvas);
    if (previous) {
      previous.destroy();
    }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: figures.labels,
        datasets: figures.datasets.map(function (set) {
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

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSwap", draw);
}());
