// A live time-series chart (uPlot) over the last 15 minutes of samples.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from './ui.js';

const WINDOW_S = 15 * 60;

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/**
 * series: [{label, value: (sample) => number, color: '--css-var'}]; samples: the history.
 * fmt formats axis values.
 */
/** 'dark' or 'light', following the system's setting as it changes (the charts redraw in its colors). */
function useScheme() {
  const query = matchMedia('(prefers-color-scheme: dark)');
  const [scheme, setScheme] = useState(query.matches ? 'dark' : 'light');
  useEffect(() => {
    const onChange = (e) => setScheme(e.matches ? 'dark' : 'light');
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);
  return scheme;
}

export function Chart({ title, series, samples, fmt }) {
  const box = useRef(null);
  const plot = useRef(null);
  const scheme = useScheme();

  const data = () => {
    const xs = samples.map((s) => s.t / 1000);
    return [xs, ...series.map((se) => samples.map((s) => se.value(s)))];
  };

  useEffect(() => {
    const el = box.current;
    const axis = { stroke: cssVar('--muted'), grid: { stroke: cssVar('--grid') }, ticks: { stroke: cssVar('--grid') } };
    const opts = {
      width: Math.max(200, el.clientWidth),
      height: 160,
      legend: { show: true, live: false },
      cursor: { show: false },
      scales: { x: { time: true } },
      axes: [axis, { ...axis, size: 84, values: (_u, vals) => vals.map((v) => (fmt ? fmt(v) : String(v))) }],
      series: [
        {},
        ...series.map((se) => ({ label: se.label, stroke: cssVar(se.color), width: 2, points: { show: false } })),
      ],
    };
    plot.current = new uPlot(opts, data(), el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 160 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [scheme]);

  useEffect(() => {
    if (!plot.current) return;
    const now = samples.length ? samples[samples.length - 1].t / 1000 : Date.now() / 1000;
    plot.current.setData(data(), false);
    plot.current.setScale('x', { min: now - WINDOW_S, max: now });
  }, [samples]);

  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <div ref=${box} class="chart-box" role="img" aria-label=${`${title}, last 15 minutes`}></div>
  </figure>`;
}
