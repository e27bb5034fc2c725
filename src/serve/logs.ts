// Build logs as files under state_dir/logs, one event per line (JSON, event-log.ts), so they
// survive a restart. Line numbers are the SSE event ids: a client that reconnects with
// Last-Event-ID gets exactly the events it missed.
//
// A build can print tens of thousands of lines while webhooks arrive, so nothing here may
// hold the event loop for long: appended lines are written once per turn of the event loop
// (one write for all of them, not one open/write/close each), the file is read back in
// chunks, and a build's log stops growing at maxBytes (a marker line says so).
import {
  appendFileSync,
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import type { BuildEvent } from "../index.js";
import { encodeEvent, renderLine, serveEvent, type LogLine } from "./event-log.js";

/** A live log entry: an event's line (seq = its 1-based line number) or the build's new state. */
export type LogEntry = { kind: "line"; seq: number; text: string } | { kind: "state"; state: string };
export type LogListener = (entry: LogEntry) => void;
export type { LogLine };

/** The default cap on one build's log. */
export const DEFAULT_MAX_LOG_BYTES = 10 * 1024 * 1024;
/** How much of the file one replay chunk holds: small enough that encoding it is a short task (well under a millisecond). */
const CHUNK_BYTES = 32 * 1024;

/** What LogStore knows of one build's log. */
interface LogState {
  /** Lines in the log (written or pending). */
  count: number;
  /** Bytes in the log (written or pending). */
  bytes: number;
  /** Bytes already in the file. */
  written: number;
  pending: string[];
  truncated: boolean;
  /** The title of the step the build is in (the dashboard's build list shows it). */
  step?: string | undefined;
}

const TRUNCATED = "[tsimg: log truncated: ";

/** The message of the event that ends a log that reached its cap. */
export function truncationMarker(maxBytes: number): string {
  return `${TRUNCATED}it reached ${formatBytes(maxBytes)} (max_log_size in serve.toml); later lines are not kept]`;
}

/** Appends, reads and follows build logs. */
export class LogStore {
  private readonly states = new Map<number, LogState>();
  private readonly listeners = new Map<number, Set<LogListener>>();
  /** Builds with lines not yet written. */
  private readonly dirty = new Set<number>();
  private flushScheduled = false;

  constructor(
    private readonly dir: string,
    private readonly maxBytes = DEFAULT_MAX_LOG_BYTES,
    /** Sees each event as it is kept (the dashboard records the version a build-start names). */
    private readonly observe?: (buildId: number, event: BuildEvent) => void,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  path(buildId: number): string {
    return join(this.dir, `${buildId}.log`);
  }

  /** Appends one event (the caller masks it); returns the last seq. Past the cap, events are dropped. */
  append(buildId: number, event: BuildEvent): number {
    const state = this.state(buildId);
    this.observe?.(buildId, event);
    if (event.type === "step-start") state.step = event.title;
    else if (event.type === "step-end" || event.type === "build-end") state.step = undefined;
    const line = encodeEvent(event);
    if (state.truncated || line === undefined) return state.count;
    if (state.bytes + Buffer.byteLength(line) + 1 > this.maxBytes) {
      state.truncated = true;
      const marker = serveEvent(event.build, truncationMarker(this.maxBytes), event.time, "warn");
      this.add(buildId, state, encodeEvent(marker)!);
    } else this.add(buildId, state, line);
    return state.count;
  }

  /**
   * The lines after `afterSeq` as they are now, in chunks of about 32 KiB read asynchronously,
   * so a 60,000-line replay is many short tasks and other requests run in between. Lines
   * appended after the call are not included (follow() them first to get them too).
   */
  async *chunks(buildId: number, afterSeq = 0): AsyncGenerator<LogLine[]> {
    this.flush(buildId);
    const path = this.path(buildId);
    const end = this.states.get(buildId)?.written ?? (existsSync(path) ? statSync(path).size : 0);
    if (end === 0) return;
    let seq = 0;
    let rest = "";
    const stream = createReadStream(path, { start: 0, end: end - 1, highWaterMark: CHUNK_BYTES, encoding: "utf8" });
    for await (const piece of stream as AsyncIterable<string>) {
      const lines = (rest + piece).split("\n");
      rest = lines.pop() ?? "";
      const out: LogLine[] = [];
      for (const text of lines) if (++seq > afterSeq) out.push({ seq, text });
      if (out.length > 0) yield out;
    }
  }

  /** The last n events as text (a GitLab note quotes them). */
  tail(buildId: number, n: number): string[] {
    return this.tailLines(buildId, n).map(renderLine);
  }

  /** The last n stored lines, read from the end of the file. */
  tailLines(buildId: number, n: number): string[] {
    this.flush(buildId);
    if (!existsSync(this.path(buildId))) return [];
    const fd = openSync(this.path(buildId), "r");
    try {
      const size = fstatSync(fd).size;
      // 256 KiB holds the last 30 lines of any sane log; a longer line is cut at the front.
      const length = Math.min(size, 256 * 1024);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      const lines = buffer.toString("utf8").split("\n");
      lines.pop();
      if (length < size) lines.shift();
      return lines.slice(-n);
    } finally {
      closeSync(fd);
    }
  }

  /** The title of the step a build is in now (known for builds this process runs). */
  currentStep(buildId: number): string | undefined {
    return this.states.get(buildId)?.step;
  }

  /** Tells followers the build's state changed. */
  publishState(buildId: number, state: string): void {
    this.publish(buildId, { kind: "state", state });
  }

  /** Follows a build's log; returns the unsubscribe function. */
  follow(buildId: number, listener: LogListener): () => void {
    let set = this.listeners.get(buildId);
    if (!set) this.listeners.set(buildId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(buildId);
    };
  }

  /** Writes every pending line now (also done once per turn of the event loop, and before reads). */
  flush(buildId?: number): void {
    for (const id of buildId === undefined ? [...this.dirty] : [buildId]) {
      const state = this.states.get(id);
      this.dirty.delete(id);
      if (!state || state.pending.length === 0) continue;
      const text = state.pending.join("");
      state.pending = [];
      appendFileSync(this.path(id), text);
      state.written += Buffer.byteLength(text);
    }
  }

  private add(buildId: number, state: LogState, line: string): void {
    state.pending.push(`${line}\n`);
    state.bytes += Buffer.byteLength(line) + 1;
    state.count += 1;
    this.dirty.add(buildId);
    this.scheduleFlush();
    this.publish(buildId, { kind: "line", seq: state.count, text: line });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** The build's log state; a log from before a restart is counted once, from its file. */
  private state(buildId: number): LogState {
    let state = this.states.get(buildId);
    if (!state) {
      const path = this.path(buildId);
      const text = existsSync(path) ? readFileSync(path, "utf8") : "";
      const bytes = Buffer.byteLength(text);
      const count = text.split("\n").length - 1;
      state = { count, bytes, written: bytes, pending: [], truncated: text.includes(TRUNCATED) };
      this.states.set(buildId, state);
    }
    return state;
  }

  private publish(buildId: number, entry: LogEntry): void {
    for (const listener of this.listeners.get(buildId) ?? []) listener(entry);
  }
}

function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const)
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  return `${bytes} bytes`;
}
