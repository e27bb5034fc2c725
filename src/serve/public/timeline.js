// The build's step timeline: one bar per step on a time axis, drawn with SVG from the
// build's events (step-start, step-end). A running step's bar grows until its step-end
// gives its exact duration, which is the number the build's summary shows.
import { svg } from "./charts.js";
import { duration } from "./common.js";

const ROW = 22;
const LABEL = 210;
const WIDTH = 900;

export class Timeline {
  constructor(container) {
    this.container = container;
    this.steps = [];
    this.start = undefined;
    this.end = undefined;
  }

  /** Takes one event; returns whether the timeline changed. */
  add(event) {
    if (event.type === "build-start") this.start ??= event.time;
    else if (event.type === "step-start") {
      this.start ??= event.time;
      this.steps.push({ step: event.step, title: event.title, at: event.time, ms: null, outcome: null });
    } else if (event.type === "step-end") {
      const open = this.steps.findLast((s) => s.step === event.step && s.ms === null);
      if (open) Object.assign(open, { ms: event.ms, outcome: event.outcome });
      else
        this.steps.push({
          step: event.step,
          title: event.step,
          at: event.time - event.ms,
          ms: event.ms,
          outcome: event.outcome,
        });
    } else if (event.type === "build-end") this.end = event.time;
    else return false;
    return true;
  }

  /** Whether a step is still running. */
  get running() {
    return this.end === undefined && this.steps.some((s) => s.ms === null);
  }

  /** Draws the timeline as of `now` (a running step's bar reaches now). */
  draw(now = Date.now()) {
    if (this.steps.length === 0) return this.container.replaceChildren();
    const live = (s) => s.ms ?? Math.max(0, (this.end ?? now) - s.at);
    const t0 = Math.min(this.start ?? Infinity, ...this.steps.map((s) => s.at));
    const span = Math.max(1000, ...this.steps.map((s) => s.at + live(s) - t0), (this.end ?? 0) - t0);
    const scale = (WIDTH - LABEL - 70) / span;
    const height = this.steps.length * ROW + 26;
    const root = svg("svg", { class: "timeline", viewBox: `0 0 ${WIDTH} ${height}`, role: "img" });
    root.append(svg("title", {}, "step timeline"));
    // The axis: a tick every "nice" interval, labelled in seconds or minutes.
    const tick = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800].find((s) => span / 1000 / s <= 8) ?? 3600;
    for (let t = 0; t <= span / 1000; t += tick) {
      const x = LABEL + t * 1000 * scale;
      root.append(svg("line", { class: "grid", x1: x, x2: x, y1: 0, y2: height - 18 }));
      root.append(
        svg("text", { class: "tick", x, y: height - 4, "text-anchor": "middle" }, t < 60 ? `${t} s` : `${t / 60} min`),
      );
    }
    this.steps.forEach((s, i) => {
      const y = i * ROW + 2;
      const ms = live(s);
      const row = svg("g", { class: `step ${s.outcome ?? "running"}`, "data-step": s.step, "data-ms": s.ms ?? "" });
      row.append(svg("text", { class: "label", x: LABEL - 6, y: y + 14, "text-anchor": "end" }, clip(s.title, 32)));
      const bar = svg("rect", {
        x: LABEL + (s.at - t0) * scale,
        y,
        width: Math.max(2, ms * scale),
        height: ROW - 6,
        rx: 3,
      });
      bar.append(svg("title", {}, `${s.title}: ${duration(ms)}${s.outcome ? ` (${s.outcome})` : " (running)"}`));
      row.append(bar);
      row.append(svg("text", { class: "ms", x: LABEL + (s.at - t0 + ms) * scale + 4, y: y + 14 }, seconds(ms)));
      root.append(row);
    });
    this.container.replaceChildren(root);
  }
}

/** "12.3 s", as the timeline labels its bars. */
export function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

function clip(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
