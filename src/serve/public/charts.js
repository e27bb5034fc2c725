// Small SVG charts, drawn by hand (a sparkline and a durations chart are a few dozen lines;
// no library needed). Each point is a <circle class="point"> with a <title> to hover.
import { duration } from "./common.js";

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element with attributes. */
export function svg(name, attributes = {}, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** x and y of each value in a box of width x height with a margin. */
function place(values, width, height, pad) {
  const max = Math.max(...values, 1);
  const step = values.length > 1 ? (width - 2 * pad) / (values.length - 1) : 0;
  return values.map((v, i) => [
    values.length > 1 ? pad + i * step : width / 2,
    height - pad - (v / max) * (height - 2 * pad),
  ]);
}

/** A sparkline of durations (ms), oldest first. */
export function sparkline(values, width = 120, height = 28) {
  const root = svg("svg", { class: "spark", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  root.append(svg("title", {}, `durations of the last ${values.length} builds`));
  const points = place(values, width, height, 3);
  if (points.length > 1) root.append(svg("polyline", { points: points.map((p) => p.join(",")).join(" ") }));
  points.forEach(([x, y], i) => {
    const dot = svg("circle", { class: "point", cx: x, cy: y, r: 2 });
    dot.append(svg("title", {}, duration(values[i])));
    root.append(dot);
  });
  return root;
}

/** Durations of builds as a chart with a time axis in minutes: points = [{ label, ms, state }], oldest first. */
export function durationChart(points, width = 640, height = 200) {
  const pad = { left: 72, right: 24, top: 10, bottom: 24 };
  const root = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img" });
  root.append(svg("title", {}, "build durations"));
  const max = Math.max(...points.map((p) => p.ms), 1000);
  const y = (ms) => height - pad.bottom - (ms / max) * (height - pad.top - pad.bottom);
  const step = points.length > 1 ? (width - pad.left - pad.right) / (points.length - 1) : 0;
  const x = (i) => (points.length > 1 ? pad.left + i * step : (width + pad.left - pad.right) / 2);
  for (const f of [0, 0.5, 1]) {
    root.append(svg("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: y(max * f), y2: y(max * f) }));
    root.append(svg("text", { x: pad.left - 4, y: y(max * f) + 4, "text-anchor": "end" }, duration(max * f)));
  }
  if (points.length > 1) root.append(svg("polyline", { points: points.map((p, i) => `${x(i)},${y(p.ms)}`).join(" ") }));
  // At most about ten labels under the axis, the newest always among them.
  const every = Math.ceil(points.length / 10);
  points.forEach((p, i) => {
    const dot = svg("circle", { class: `point ${p.state}`, cx: x(i), cy: y(p.ms), r: 4, "data-ms": p.ms });
    dot.append(svg("title", {}, `${p.label}: ${duration(p.ms)} (${p.state})`));
    root.append(dot);
    if ((points.length - 1 - i) % every === 0)
      root.append(svg("text", { x: x(i), y: height - 6, "text-anchor": "middle" }, p.label));
  });
  return root;
}
