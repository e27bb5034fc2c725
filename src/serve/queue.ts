// A first-in first-out queue that runs at most `concurrency` jobs at once. A queued job can
// be dropped and a running one aborted; either way the job's own code records the outcome.

/** A unit of work; run() must settle soon after its signal aborts. */
export interface Job {
  id: number;
  run(signal: AbortSignal): Promise<void>;
  /** Called instead of run() when the job is dropped before it started. */
  dropped(reason: string): void;
}

export class JobQueue {
  private readonly waiting: Job[] = [];
  private readonly running = new Map<number, { controller: AbortController; done: Promise<void> }>();
  private closed = false;

  constructor(private readonly concurrency: number) {}

  /** Adds a job; it starts as soon as a slot is free. */
  push(job: Job): void {
    if (this.closed) return job.dropped("the service is shutting down");
    this.waiting.push(job);
    this.pump();
  }

  /** Drops a queued job or aborts a running one; returns what it was, or undefined if unknown. */
  cancel(id: number, reason: string): "queued" | "running" | undefined {
    const index = this.waiting.findIndex((j) => j.id === id);
    if (index >= 0) {
      const [job] = this.waiting.splice(index, 1);
      job?.dropped(reason);
      return "queued";
    }
    const active = this.running.get(id);
    if (!active) return undefined;
    active.controller.abort(reason);
    return "running";
  }

  /** Resolves when the job is no longer running (immediately if it is not). */
  settled(id: number): Promise<void> {
    return this.running.get(id)?.done ?? Promise.resolve();
  }

  get counts(): { queued: number; running: number } {
    return { queued: this.waiting.length, running: this.running.size };
  }

  /** Drops every queued job, aborts the running ones and waits for them. */
  async close(reason: string): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) job.dropped(reason);
    for (const { controller } of this.running.values()) controller.abort(reason);
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.concurrency) {
      const job = this.waiting.shift();
      if (!job) return;
      const controller = new AbortController();
      const done = job
        .run(controller.signal)
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(job.id);
          this.pump();
        });
      this.running.set(job.id, { controller, done });
    }
  }
}
