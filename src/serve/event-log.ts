// A build's log as serve keeps it: the build's typed events, one JSON object a line (the
// dashboard tells steps, provisioner output and serial lines apart; another host can ship
// them as they are). Text is rendered only when someone wants text: the plain log, and the
// last lines a GitLab note quotes.
//
// Whatever a build process sends is untrusted (it runs a merge request's code): only the
// fields an event of its type has are kept, so a stored line holds nothing else.
import { maskEvent, type BuildEvent, type LogLevel, type Masker } from "../index.js";

/** One line of a log and its line number (the SSE event id). */
export type LogLine = { seq: number; text: string };

/** The fields each event type keeps (besides type, build and time). Screenshots are not kept: their path is the worker's. */
const FIELDS: Partial<Record<BuildEvent["type"], readonly string[]>> = {
  "build-start": ["version"],
  "step-start": ["step", "title"],
  "step-end": ["step", "ms", "outcome"],
  log: ["level", "message"],
  serial: ["line"],
  output: ["source", "stream", "line"],
  artifact: ["files", "id", "producer", "location", "checksums"],
  "build-end": ["ok", "ms", "error", "cancelled"],
};

/** A message of serve's own (fetching the repository, a restart, the outcome) as a log event. */
export function serveEvent(build: string, message: string, time = Date.now(), level: LogLevel = "info"): BuildEvent {
  return { type: "log", level, message, build, time };
}

/** The stored line of an event: its own fields only, as JSON; undefined for an event the log does not keep. */
export function encodeEvent(event: BuildEvent): string | undefined {
  const fields = FIELDS[event.type];
  if (!fields) return undefined;
  const e = event as unknown as Record<string, unknown>;
  const kept: Record<string, unknown> = { type: event.type, build: String(e.build ?? ""), time: Number(e.time) || 0 };
  for (const name of fields) if (e[name] !== undefined) kept[name] = e[name];
  return JSON.stringify(kept);
}

/**
 * A stored line back as an event. A line of a log written before serve kept events (plain
 * text, its time already in it) becomes a log event with time 0, which renders without a time.
 */
export function decodeEvent(text: string): BuildEvent {
  if (text.startsWith("{"))
    try {
      const event = JSON.parse(text) as BuildEvent;
      if (typeof event === "object" && event !== null && typeof event.type === "string") return event;
    } catch {
      // not JSON after all: shown as text
    }
  return serveEvent("", text, 0);
}

/** Lines as the dashboard sends them: every known secret masked, an older log's text lines as events. */
export function readableLines(lines: readonly LogLine[], masker: Masker): readonly LogLine[] {
  if (lines.length === 0) return lines;
  const joined = lines.map((l) => l.text).join("\n");
  // The usual case, one scan: every line is an event and none holds a secret.
  if (masker.mask(joined) === joined && lines.every((l) => l.text.startsWith("{"))) return lines;
  // Masked field by field: replacing text inside the JSON could break an escape sequence.
  return lines.map((l) => ({ seq: l.seq, text: encodeEvent(maskEvent(decodeEvent(l.text), masker)) ?? "{}" }));
}

/** One line of text for an event (an empty string for an event that is not worth one). */
export function formatEvent(event: BuildEvent): string {
  const t = event.time ? `${new Date(event.time).toISOString().slice(11, 19)} ` : "";
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  switch (event.type) {
    case "build-start":
      return `${t}build started`;
    case "step-start":
      return `${t}==> ${event.title}`;
    case "step-end":
      return `${t}<== ${event.step} ${event.outcome} (${seconds(event.ms)})`;
    case "log":
      return `${t}${event.level === "info" ? "" : `${event.level}: `}${event.message}`;
    case "serial":
      return `${t}[serial] ${event.line}`;
    case "output":
      return `${t}[${event.source}${event.stream === "stderr" ? " stderr" : ""}] ${event.line}`;
    case "artifact":
      return `${t}artifact: ${event.files.join(", ")}`;
    case "build-end":
      return `${t}build ${event.ok ? "succeeded" : event.cancelled ? "cancelled" : `failed: ${event.error ?? ""}`} after ${seconds(event.ms)}`;
    default:
      return "";
  }
}

/** A stored line as text (a line whose fields are not what its type says is shown as it is stored). */
export function renderLine(text: string): string {
  try {
    return formatEvent(decodeEvent(text));
  } catch {
    return text;
  }
}
