// The build log in the page: the build's events (JSON, from the event stream) rendered as
// lines, with filters by kind (steps, provisioner output, serial console, messages) and a
// search. Text goes in with textContent only: nothing from a build is ever parsed as HTML.

/** Which filter an event belongs to. */
export function kindOf(event) {
  if (event.type === "serial") return "serial";
  if (event.type === "output") return "output";
  if (event.type === "log") return "log";
  return "step";
}

const seconds = (ms) => `${(Number(ms) / 1000).toFixed(1)} s`;

/** One line of text for an event, as serve's plain log renders it (event-log.ts formatEvent). */
export function formatEvent(e) {
  const t = e.time ? `${new Date(e.time).toISOString().slice(11, 19)} ` : "";
  switch (e.type) {
    case "build-start":
      return `${t}build started`;
    case "step-start":
      return `${t}==> ${e.title}`;
    case "step-end":
      return `${t}<== ${e.step} ${e.outcome} (${seconds(e.ms)})`;
    case "log":
      return `${t}${e.level === "info" ? "" : `${e.level}: `}${e.message}`;
    case "serial":
      return `${t}[serial] ${e.line}`;
    case "output":
      return `${t}[${e.source}${e.stream === "stderr" ? " stderr" : ""}] ${e.line}`;
    case "artifact":
      return `${t}artifact: ${[e.files].flat().join(", ")}`;
    case "build-end":
      return `${t}build ${e.ok ? "succeeded" : e.cancelled ? "cancelled" : `failed: ${e.error ?? ""}`} after ${seconds(e.ms)}`;
    default:
      return "";
  }
}

/** Lines drawn at once when a long log arrives: its end, what the reader sees first. */
const TAIL = 200;
/** Earlier lines are drawn after that, this many per frame, above the ones shown. */
const CHUNK = 1000;

/** The log view: pre#log, the filter checkboxes (name = kind) in form#log-filters and input#log-search. */
export class LogView {
  constructor(pre, form) {
    this.pre = pre;
    this.search = form.querySelector("input[type=search]");
    this.query = "";
    /** Events above the lines drawn that are still to draw, oldest first. */
    this.earlier = [];
    for (const box of form.querySelectorAll("input[type=checkbox]"))
      box.addEventListener("change", () => pre.classList.toggle(`hide-${box.name}`, !box.checked));
    this.search.addEventListener("input", () => {
      this.query = this.search.value.trim().toLowerCase();
      for (const line of pre.querySelectorAll(".line")) this.match(line);
    });
    form.addEventListener("submit", (e) => e.preventDefault());
  }

  /**
   * Appends the events' lines; keeps the view at the bottom when it was there. Of a long log
   * (the first load of a long build) only the last lines are drawn now; the ones before them
   * follow chunk by chunk, a frame apart, above them (pre#log[data-pending] until done).
   */
  add(events) {
    const pre = this.pre;
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    if (events.length > TAIL && this.pre.querySelector(".line") === null) {
      this.above(events.slice(0, -TAIL));
      events = events.slice(-TAIL);
    }
    pre.append(this.chunk(events));
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }

  /** Notes that this many lines above the ones drawn are on their way (pre#log[data-pending]). */
  reserve(count) {
    this.pre.dataset.pending = String(count);
  }

  /** Draws the events above the lines drawn, chunk by chunk from the last, a frame apart. */
  above(events) {
    this.earlier = events;
    if (events.length === 0) {
      delete this.pre.dataset.pending;
      return;
    }
    this.reserve(events.length);
    requestAnimationFrame(() => setTimeout(() => this.fillEarlier(), 0));
  }

  /** Draws the last chunk of the earlier lines above those drawn, keeping in view what was in view. */
  fillEarlier() {
    const pre = this.pre;
    const events = this.earlier.splice(-CHUNK);
    const fromBottom = pre.scrollHeight - pre.scrollTop;
    pre.prepend(this.chunk(events));
    pre.scrollTop = pre.scrollHeight - fromBottom;
    this.above(this.earlier);
  }

  /** The events' lines in one block: the browser lays out a new block, not the whole log again. */
  chunk(events) {
    const block = document.createElement("span");
    block.className = "chunk";
    for (const event of events) {
      const text = formatEvent(event);
      if (!text) continue;
      const line = document.createElement("span");
      line.className = `line k-${kindOf(event)}${event.type === "step-end" && event.outcome === "failed" ? " bad" : ""}`;
      line.textContent = `${text}\n`;
      this.match(line);
      block.append(line);
    }
    return block;
  }

  match(line) {
    line.classList.toggle("miss", this.query !== "" && !line.textContent.toLowerCase().includes(this.query));
  }
}
