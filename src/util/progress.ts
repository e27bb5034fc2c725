// Progress of long operations as log lines, at most one every few seconds, plus one at the end.

/** Where progress lines go: a post-processor's or a build step's context. */
export interface ProgressSink {
  events: { info(message: string): void };
  /** Default 5000. */
  progressIntervalMs?: number;
}

/** Counts bytes and logs `<what>: 512.0 MiB of 2.0 GiB (25%), 180 MB/s` every interval. */
export class ProgressLog {
  private done = 0;
  private lastLog: number;
  private readonly t0 = Date.now();
  private readonly intervalMs: number;

  constructor(
    private readonly ctx: ProgressSink,
    private readonly what: string,
    private readonly total?: number,
  ) {
    this.intervalMs = ctx.progressIntervalMs ?? 5000;
    this.lastLog = this.t0;
  }

  /** Adds n bytes done. */
  add(n: number): void {
    this.set(this.done + n);
  }

  /** Sets the bytes done so far. */
  set(done: number): void {
    this.done = done;
    const now = Date.now();
    if (now - this.lastLog >= this.intervalMs) {
      this.lastLog = now;
      this.ctx.events.info(`${this.what}: ${this.describe(now)}`);
    }
  }

  /** Logs the final line: `<what>: done, 2.0 GiB in 8.1 s (265 MB/s)<extra>`. */
  finish(extra = ""): void {
    const secs = (Date.now() - this.t0) / 1000;
    this.ctx.events.info(
      `${this.what}: done, ${formatBytes(this.done)} in ${secs.toFixed(1)} s (${rate(this.done, secs)})${extra}`,
    );
  }

  private describe(now: number): string {
    const secs = (now - this.t0) / 1000;
    const of = this.total ? ` of ${formatBytes(this.total)} (${Math.floor((this.done / this.total) * 100)}%)` : "";
    return `${formatBytes(this.done)}${of}, ${rate(this.done, secs)}`;
  }
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function rate(bytes: number, secs: number): string {
  return secs > 0 ? `${(bytes / 1e6 / secs).toFixed(0)} MB/s` : "- MB/s";
}
