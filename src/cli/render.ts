// Turns build events into the human console output, Packer-style:
//   12:00:01 ==> tinyos: Waiting for SSH...
//   12:00:09     tinyos: connected to SSH
import { formatDuration, type BuildEvent } from "../index.js";

export interface RenderOptions {
  debug: boolean;
  /** Full ISO date and milliseconds instead of HH:MM:SS. */
  fullTimestamps?: boolean;
  write: (line: string) => void;
}

/** A listener that prints events; `summary(build)` gives a build's per-step durations. */
export function createRenderer(options: RenderOptions) {
  const steps: { build: string; title: string; ms: number; outcome: string }[] = [];
  const titles = new Map<string, string>();
  const stamp = (time: number) =>
    options.fullTimestamps ? new Date(time).toISOString() : new Date(time).toTimeString().slice(0, 8);
  const say = (event: BuildEvent, text: string, arrow = false) =>
    options.write(`${stamp(event.time)} ${arrow ? "==>" : "   "} ${event.build}: ${text}`);

  const onEvent = (event: BuildEvent): void => {
    switch (event.type) {
      case "step-start":
        titles.set(event.step, event.title);
        return say(event, event.title, true);
      case "step-end":
        steps.push({ build: event.build, title: event.step, ms: event.ms, outcome: event.outcome });
        if (event.outcome !== "ok")
          say(event, `${titles.get(event.step) ?? event.step} ${event.outcome} after ${formatDuration(event.ms)}`);
        return;
      case "log":
        if (event.level === "debug" && !options.debug) return;
        return say(
          event,
          event.level === "warn"
            ? `WARNING: ${event.message}`
            : event.level === "error"
              ? `ERROR: ${event.message}`
              : event.message,
        );
      case "screenshot":
        return say(event, `console screenshot: ${event.path}`);
      case "serial":
        if (options.debug) say(event, `[serial] ${event.line}`);
        return;
      case "output":
        return say(event, event.line);
      case "artifact":
        return say(
          event,
          `artifact${event.producer && event.producer !== "qemu" ? ` (${event.producer})` : ""}: ${event.files.join(", ")}${event.id !== event.files[0] ? ` -> ${event.id}` : ""}`,
          true,
        );
      case "build-start":
      case "build-end":
        return;
    }
  };
  const summary = (build: string): string =>
    steps
      .filter((s) => s.build === build)
      .map((s) => `${s.title} ${formatDuration(s.ms)}${s.outcome === "ok" ? "" : ` (${s.outcome})`}`)
      .join(", ");
  return { onEvent, summary };
}
