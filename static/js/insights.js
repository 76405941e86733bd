// Draws the insights dashboard's charts with Chart.js from the JSON the page embeds
// (#kpi-charts: the same rows as each chart's table). A click on a point of a chart that has a
// drill-down opens the list behind that point (?point=<first column of the row>).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("kpi-charts").textContent || "[]");
  const byKey = Object.fromEntries(data.map((c) => [c.key, c]));
  const palette = ["#106ebe", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#c2255c", "#5c940d"];
  document.querySelectorAll("canvas.kpi-canvas").forEach((canvas) => {
    const chart = byKey[canvas.dataset.chart];
    if (!chart || !window.Chart) return;
    const labels = chart.rows.map((r) => String(r[0]));
    const numeric = chart.columns.map((_, i) => i > 0 && chart.rows.some((r) => typeof r[i] === "number"));
    const datasets = chart.columns.map((name, i) => ({ name, i })).filter((c) => numeric[c.i]).map((c, n) => ({
      label: c.name, data: chart.rows.map((r) => r[c.i]), borderColor: palette[n % palette.length],
      backgroundColor: palette[n % palette.length], spanGaps: true,
    }));
    const instance = new window.Chart(canvas, {
      type: chart.kind === "line" ? "line" : "bar",
      data: { labels, datasets },
      options: { responsive: true, animation: false, plugins: { legend: { position: "bottom" } } },
    });
    if (canvas.dataset.drill) {
      canvas.style.cursor = "pointer";
      canvas.addEventListener("click", (event) => {
        const points = instance.getElementsAtEventForMode(event, "nearest", { intersect: true }, true);
        if (points.length) window.location.href = canvas.dataset.drill + "&point=" + encodeURIComponent(labels[points[0].index]);
      });
    }
  });
  document.querySelectorAll("canvas.sparkline").forEach((canvas) => {
    if (!window.Chart) return;
    const points = JSON.parse(canvas.dataset.series);
    const datasets = [{ data: points.map((p) => p.y), borderColor: "#106ebe", pointRadius: 0, spanGaps: true }];
    if (canvas.dataset.target) {
      datasets.push({ data: points.map(() => Number(canvas.dataset.target)), borderColor: "#d9480f", borderDash: [4, 4], pointRadius: 0 });
    }
    new window.Chart(canvas, {
      type: "line", data: { labels: points.map((p) => p.x), datasets },
      options: { animation: false, plugins: { legend: { display: false }, tooltip: { enabled: true } },
                 scales: { x: { display: false }, y: { display: false } } },
    });
  });
})();
