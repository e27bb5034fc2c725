// Shares the event loop between the dashboard's log replays and everything else serve does.
//
// Node runs every callback that is ready in one turn of the event loop before it reads the
// next request. Twenty pages replaying a long log each have a chunk ready in nearly every
// turn, so without a limit one turn encodes and writes twenty chunks, and a webhook that
// arrives meanwhile waits for all of them. The pacer runs queued replay work a piece at a
// time, at most `budgetMs` of it per turn, and leaves the rest for the next turn: a
// delivery waits behind a few milliseconds of replay, however many pages are open.

/** Runs small pieces of work in later turns of the event loop, a bounded amount per turn. */
export class Pacer {
  private readonly queue: (() => void)[] = [];
  private scheduled = false;

  constructor(
    private readonly budgetMs = 4,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Runs `work` (synchronous, short) in a coming turn; resolves with its result once it ran. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push(() => {
        try {
          resolve(work());
        } catch (error) {
          reject(error);
        }
      });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    const end = this.now() + this.budgetMs;
    // At least one piece per turn, so work always progresses.
    do this.queue.shift()?.();
    while (this.queue.length > 0 && this.now() < end);
    if (this.queue.length > 0) this.schedule();
  }
}
