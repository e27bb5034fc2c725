/** Keeps the last N lines of a stream, for error messages. */
export class TailBuffer {
  private buffer: string[] = [];
  constructor(private readonly size: number) {}

  push(line: string): void {
    this.buffer.push(line);
    if (this.buffer.length > this.size) this.buffer.shift();
  }

  lines(count = this.size): string[] {
    return this.buffer.slice(-count);
  }
}
