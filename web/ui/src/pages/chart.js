// A live line chart (uPlot) that follows its container's width.
import { html, useEffect, useRef } from '../vendor/preact-htm.js';
import uPlot from '../vendor/uplot.js';

// series: [{label, stroke}], data: [xs (unix s), ys1, ys2, ...], format: value -> text
// Whole numbers on the value axis: 1, 2, 5, 10, 20, 50 ... (messages), or binary steps (bytes).
const DECIMAL = [];
const BINARY = [];
for (let e = 1; e < 1e12; e *= 10) DECIMAL.push(e, 2 * e, 5 * e);
for (let e = 1; e < 2 ** 40; e *= 2) BINARY.push(e);

function clock(t) {
  const d = new Date(t * 1000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

export function LiveChart({ series, data, format, height = 190, id, binary = false, windowS = 900 }) {
  const incrs = binary ? BINARY : DECIMAL;
  const box = useRef(null);
  const plot = useRef(null);

  useEffect(() => {
    const el = box.current;
    const opts = {
      width: Math.max(200, el.clientWidth),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        // The whole window, ending now: a quiet broker shows a flat line, not a zoom on noise.
        x: { time: true, range: (u, min, max) => [max - windowS, max] },
        y: { range: (u, min, max) => [0, Math.max(5, max * 1.15)] },
      },
      axes: [
        { stroke: '#5b6675', grid: { stroke: '#e6e9ee' }, ticks: { stroke: '#e6e9ee' }, space: 60,
          values: (u, ts) => ts.map(clock) },
        { stroke: '#5b6675', grid: { stroke: '#e6e9ee' }, ticks: { stroke: '#e6e9ee' }, size: 70, incrs,
          values: (u, vals) => vals.map((v) => format(v)) },
      ],
      series: [
        { value: (u, v) => (v == null ? '–' : new Date(v * 1000).toLocaleTimeString()) },
        ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, fill: s.fill, points: { show: false },
          value: (u, v) => (v == null ? '–' : format(v)) })),
      ],
    };
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => {
      if (plot.current) plot.current.setSize({ width: Math.max(200, el.clientWidth), height });
    });
    ro.observe(el);
    return () => { ro.disconnect(); plot.current.destroy(); plot.current = null; };
  }, []);

  useEffect(() => {
    if (plot.current) plot.current.setData(data);
  }, [data]);

  // The latest values, for whoever reads the page (and the browser tests).
  const last = series.map((s, i) => { const ys = data[i + 1]; return ys.length ? ys[ys.length - 1] : 0; });
  const peak = series.map((s, i) => data[i + 1].reduce((m, v) => Math.max(m, v || 0), 0));
  return html`<div class="chart" id=${id} ref=${box} data-points=${data[0].length}
    data-last=${last.join(',')} data-peak=${peak.join(',')}></div>`;
}
