// Build logs as files under state_dir/logs, one line appended per entry, so they survive a
// restart. Line numbers are the SSE event ids: a client that reconnects with Last-Event-ID
// gets exactly the lines it missed.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** A live log entry: a line (seq = its 1-based line number) or the build's new state. */
export type LogEntry = { kind: "line"; seq: number; text: string } | { kind: "state"; state: string };
export type LogListener = (entry: LogEntry) => void;

/** Appends, reads and follows build logs. */
export class LogStore {
  private readonly counts = new Map<number, number>();
  private readonly listeners = new Map<number, Set<LogListener>>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  path(buildId: number): string {
    return join(this.dir, `${buildId}.log`);
  }

  /** Appends one line (newlines inside it become separate lines); returns the last seq. */
  append(buildId: number, text: string): number {
    let seq = this.count(buildId);
    for (const line of text.split(/\r?\n/)) {
      appendFileSync(this.path(buildId), `${line}\n`);
      seq += 1;
      this.counts.set(buildId, seq);
      this.publish(buildId, { kind: "line", seq, text: line });
    }
    return seq;
  }

  /** Lines after `afterSeq`, each with its seq. */
  read(buildId: number, afterSeq = 0): { seq: number; text: string }[] {
    if (!existsSync(this.path(buildId))) return [];
    const lines = readFileSync(this.path(buildId), "utf8").split("\n");
    lines.pop();
    return lines.slice(afterSeq).map((text, i) => ({ seq: afterSeq + i + 1, text }));
  }

  /** The last n lines. */
  tail(buildId: number, n: number): string[] {
    return this.read(buildId).slice(-n).map((l) => l.text);
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

  private count(buildId: number): number {
    let n = this.counts.get(buildId);
    if (n === undefined) {
      n = this.read(buildId).length;
      this.counts.set(buildId, n);
    }
    return n;
  }

  private publish(buildId: number, entry: LogEntry): void {
    for (const listener of this.listeners.get(buildId) ?? []) listener(entry);
  }
}
