// Follows the guest's serial console file as QEMU writes it: each complete line is
// handed on (for events and guest markers) and the last lines are kept for errors.
import { closeSync, openSync, readSync, watch, type FSWatcher } from "node:fs";
import { TailBuffer } from "../core/tail-buffer.js";

// Matching control characters is the point of these two.
// eslint-disable-next-line no-control-regex
const TERMINAL_ESCAPE = /\x1b\[[0-9;?]*[A-Za-z]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\x00-\x08\x0b-\x1f]/g;

/** Reads a growing file line by line until stopped. */
export class SerialFollower {
  private readonly tail = new TailBuffer(30);
  private fd: number | undefined;
  private offset = 0;
  private partial = "";
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly onLine: (line: string) => void,
  ) {}

  /** Starts following; the file may not exist yet (QEMU creates it). */
  start(): void {
    // inotify tells us about writes at once; the slow timer covers file systems where it does not.
    this.timer = setInterval(() => this.read(), 250);
    this.timer.unref();
    this.read();
  }

  /** Reads what is left and stops. */
  stop(): void {
    this.read();
    if (this.partial) this.emit(this.partial);
    this.partial = "";
    this.watcher?.close();
    clearInterval(this.timer);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** The last lines the guest printed. */
  lines(count = 30): string[] {
    return this.tail.lines(count);
  }

  private read(): void {
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.path, "r");
        this.watcher = watch(this.path, () => this.read());
      } catch {
        return;
      }
    }
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(this.fd, buffer, 0, buffer.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      const parts = (this.partial + buffer.subarray(0, n).toString("utf8")).split(/\r?\n/);
      this.partial = parts.pop() ?? "";
      for (const part of parts) this.emit(part);
    }
  }

  private emit(raw: string): void {
    // Strip terminal escapes and carriage returns the guest's console emits.
    const line = raw.replace(TERMINAL_ESCAPE, "").replace(/\r/g, "").replace(CONTROL_CHARACTERS, "");
    if (!line.trim()) return;
    this.tail.push(line);
    this.onLine(line);
  }
}
