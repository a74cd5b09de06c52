// Charts with the vendored uPlot (ui/vendor/uplot): metric histories (step on
// x, one line per run) and scatters. Each chart is kept in regent.charts, so
// tests (and curious users in the console) can read what was plotted.
"use strict";

(function () {
  const { h } = regent;
  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f"];

  function width(container) {
    return Math.max(320, Math.min(900, (container.clientWidth || 640) - 8));
  }

  function register(el, kind, title, plot) {
    const points = plot.data.slice(1).reduce((n, ys) => n + ys.filter((y) => y !== null && y !== undefined).length, 0);
    el.dataset.points = String(points);
    el.dataset.series = String(plot.data.length - 1);
    regent.charts.push({ kind, title, plot, el });
  }

  // series: [{label, points: [{step, value}]}], overlaid on the union of steps.
  function history(container, title, series) {
    const steps = [...new Set(series.flatMap((s) => s.points.map((p) => p.step)))].sort((a, b) => a - b);
    const index = new Map(steps.map((s, i) => [s, i]));
    const ys = series.map((s) => {
      const y = new Array(steps.length).fill(null);
      for (const p of s.points) y[index.get(p.step)] = p.value;
      return y;
    });
    const el = h("div", { class: "chart", dataset: { kind: "history", title } });
    container.appendChild(el);
    const plot = new uPlot(
      {
        title,
        width: width(container),
        height: 240,
        scales: { x: { time: false } },
        axes: [{ label: "step" }, {}],
        series: [
          { label: "step" },
          ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true })),
        ],
      },
      [steps, ...ys],
      el,
    );
    register(el, "history", title, plot);
    return el;
  }

  // points: [{x, y, label}] (numbers), one dot per point.
  function scatter(container, title, xLabel, yLabel, points) {
    const sorted = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    const el = h("div", { class: "chart", dataset: { kind: "scatter", title } });
    container.appendChild(el);
    const plot = new uPlot(
      {
        title,
        width: width(container),
        height: 280,
        scales: { x: { time: false } },
        axes: [{ label: xLabel }, { label: yLabel }],
        series: [
          { label: xLabel },
          { label: yLabel, stroke: COLORS[0], fill: COLORS[0], paths: () => null, points: { show: true, size: 8 } },
        ],
      },
      [sorted.map((p) => p.x), sorted.map((p) => p.y)],
      el,
    );
    register(el, "scatter", title, plot);
    el.appendChild(h("p", { class: "muted" }, sorted.map((p) => p.label + " (" + regent.number(p.x) + ", " + regent.number(p.y) + ")").join("; ")));
    return el;
  }

  // Before a page is replaced: free the old charts.
  function clear() {
    regent.charts.forEach((c) => c.plot.destroy());
    regent.charts.length = 0;
  }

  regent.chart = { history, scatter, clear };
})();
