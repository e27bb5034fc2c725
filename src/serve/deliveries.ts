// Acknowledged deliveries on their way to the handlers: in order of arrival, a few at a
// time, after the intake (the work is on disk already, so answering GitLab comes first).
// A delivery whose handling fails because GitLab is unreachable (isTransient) keeps its
// record and is tried again with backoff, for a day, across restarts too; anything else
// ends it (reported). Each one's record is dropped once it is handled.
import { TsimgError } from "../index.js";
import { isTransient } from "./gitlab.js";
import type { Store } from "./store.js";
import type { WebhookEvent } from "./webhook.js";

/** Deliveries handled at once: enough to keep GitLab calls flowing, few enough that a burst of deliveries does not starve the intake. */
const HANDLERS = 8;
/**
 * Intake first: during a burst (a delivery within QUIET_MS of the one before it), handling
 * waits until none has come for QUIET_MS, but never longer than MAX_DEFER_MS. A delivery on
 * its own is handled at once: waiting would only add to its build's start.
 */
const QUIET_MS = 25;
const MAX_DEFER_MS = 2_000;
/** A delivery GitLab's outage kept from being handled is tried again after 1 s, 2 s, 4 s ... 5 min, for a day at most. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 5 * 60_000;
const RETRY_FOR_MS = 24 * 60 * 60_000;

/** A delivery waiting to be handled. */
interface Waiting {
  key: string;
  event: WebhookEvent;
  body: string;
  /** performance.now() of its arrival (-Infinity: handle at once). */
  at: number;
  /** deps.now() when it was received, for the retry limit. */
  receivedAt: number;
}

/** What the queue needs. */
export interface DeliveryDeps {
  store: Store;
  now: () => number;
  /** Handles one delivery (its raw body); throws what went wrong. */
  handle: (key: string, event: WebhookEvent, body: string) => Promise<void>;
  /** Runs work in the background, tracked by the service. */
  dispatch: (work: () => Promise<void>) => void;
  onError: (error: unknown) => void;
}

/** The deliveries between the intake and the handlers. */
export class DeliveryQueue {
  private readonly waiting: Waiting[] = [];
  /** Deliveries waiting to be tried again after GitLab failed them. */
  private readonly retries = new Set<NodeJS.Timeout>();
  private handling = 0;
  private lastArrival = -Infinity;
  private deferTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: DeliveryDeps) {}

  /** Deliveries waiting for a handler (not those waiting for a retry). */
  get length(): number {
    return this.waiting.length;
  }

  /** A delivery the intake acknowledged (and recorded). */
  push(key: string, event: WebhookEvent, body: string): void {
    const now = performance.now();
    const burst = now - this.lastArrival < QUIET_MS;
    this.lastArrival = now;
    this.waiting.push({ key, event, body, at: burst ? now : -Infinity, receivedAt: this.deps.now() });
    this.pump();
  }

  /** Takes up the deliveries a previous process acknowledged but did not handle (those waiting for a retry too); returns how many. */
  resume(): number {
    const left = this.deps.store.pendingDeliveries();
    for (const d of left) {
      if (d.event === "note" || d.event === "merge_request")
        this.waiting.push({ key: d.key, event: d.event, body: d.payload, at: -Infinity, receivedAt: d.receivedAt });
      else this.deps.store.deliveryDone(d.key);
    }
    this.pump();
    return left.length;
  }

  /** Stops taking deliveries up; what is left stays on disk for the next start. */
  close(): void {
    this.waiting.splice(0);
    clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
  }

  private pump(): void {
    while (this.handling < HANDLERS && this.waiting.length > 0) {
      // During a burst every cycle of the event loop goes to answering GitLab (the work is on
      // disk already); the handlers catch up once it is quiet, or after MAX_DEFER_MS at most.
      const now = performance.now();
      const first = this.waiting[0]!;
      const wait =
        first.at === -Infinity ? 0 : Math.min(this.lastArrival + QUIET_MS - now, first.at + MAX_DEFER_MS - now);
      if (wait > 0) {
        this.deferTimer ??= setTimeout(() => {
          this.deferTimer = undefined;
          this.pump();
        }, Math.ceil(wait));
        return;
      }
      const d = this.waiting.shift()!;
      this.handling += 1;
      this.deps.dispatch(async () => {
        // Each on its own turn of the event loop, so waiting requests are read first.
        await new Promise((resolve) => setImmediate(resolve));
        let later = false;
        try {
          await this.deps.handle(d.key, d.event, d.body);
        } catch (error) {
          later = this.retryLater(d, error);
          if (!later) this.deps.onError(error);
        } finally {
          // Handled, or failed for good (reported): either way not handled again.
          if (!later) this.deps.store.deliveryDone(d.key);
          this.handling -= 1;
          this.pump();
        }
      });
    }
  }

  /** Schedules another try of a delivery GitLab failed for a passing reason; false when it is not worth one. */
  private retryLater(d: Waiting, error: unknown): boolean {
    if (!isTransient(error)) return false;
    const attempts = this.deps.store.deliveryFailed(d.key);
    if (this.deps.now() - d.receivedAt > RETRY_FOR_MS) {
      this.deps.onError(
        new TsimgError(
          `gave up on delivery ${d.key} after ${attempts} attempts over a day: ${(error as Error).message}`,
        ),
      );
      return false;
    }
    const delay = Math.min(RETRY_FIRST_MS * 2 ** Math.min(attempts - 1, 20), RETRY_MAX_MS);
    this.deps.onError(
      new TsimgError(
        `${(error as Error).message}; delivery ${d.key} is kept and tried again in ${Math.round(delay / 1000)} s`,
      ),
    );
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      this.waiting.push({ ...d, at: -Infinity });
      this.pump();
    }, delay);
    this.retries.add(timer);
    return true;
  }
}
