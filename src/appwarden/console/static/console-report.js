// The score chart of an assessment report, drawn with Chart.js from the breakdown table
// beside it (which stays: the same figures for readers without scripts or sight).
(function () {
  "use strict";

  function draw() {
    const canvas = document.getElementById("score-chart");
    const table = document.getElementById("score-table");
    if (!canvas || !table || typeof Chart === "undefined") return;
    const rows = Array.from(table.querySelectorAll("tbody tr"));
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: rows.map(function (row) { return row.dataset.category; }),
        datasets: [
          {
            label: canvas.dataset.pointsLabel,
            data: rows.map(function (row) { return Number(row.dataset.points); }),
            backgroundColor: "#1f3a5f",
          },
          {
            label: canvas.dataset.capLabel,
            data: rows.map(function (row) { return Number(row.dataset.cap); }),
            backgroundColor: "#c9d1da",
          },
        ],
      },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
