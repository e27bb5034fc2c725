// Helpers that race every external wait against the build's AbortSignal (STYLE §5).
import { CancelledError, TimeoutError } from "./errors.js";

/** Throws CancelledError if the signal has fired. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}

/** Why a signal fired: its reason when that is a real error (QEMU died), else a CancelledError. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && !(reason.name === "AbortError")) return reason;
  return new CancelledError(typeof reason === "string" ? reason : "build cancelled");
}

/** Resolves with the promise, or rejects with CancelledError as soon as the signal fires. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** The longest delay one Node timer holds (about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A pending `startTimer`. */
export interface LongTimer {
  clear(): void;
}

/**
 * Calls `fire` after `ms`, however long: a template may say `shutdown_timeout = "600h"`,
 * and setTimeout fires such a delay at once. Longer delays chain timers of at most
 * MAX_TIMER_MS; Infinity never fires. Every wait on a duration from a template goes here.
 */
export function startTimer(ms: number, fire: () => void): LongTimer {
  let timer: NodeJS.Timeout | undefined;
  const arm = (left: number) => {
    if (left === Infinity) return;
    const step = Math.min(Math.max(0, left), MAX_TIMER_MS);
    timer = setTimeout(() => (left > step ? arm(left - step) : fire()), step);
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}

/** Waits ms milliseconds (any duration, see startTimer), or rejects at once when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      timer.clear();
      reject(abortReason(signal!));
    };
    const timer = startTimer(ms, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Resolves with the promise, or rejects with TimeoutError(message) after ms (any duration).
 * With a signal it also rejects as soon as the signal fires: a wait on a guest (a hung
 * shutdown_command) must never outlast Ctrl-C.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      timer.clear();
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      done();
      reject(abortReason(signal!));
    };
    const timer = startTimer(ms, () => {
      signal?.removeEventListener("abort", onAbort);
      reject(new TimeoutError(message));
    });
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}

/** A signal that fires when `parent` does or after `ms`; see `signalWithTimeout`. */
export interface TimeoutScope {
  signal: AbortSignal;
  /** Whether the time ran out (rather than the parent firing). */
  readonly timedOut: boolean;
  /** Stops the timer; call when the work is done. */
  clear(): void;
}

/**
 * `parent` or `ms`, whichever comes first. A plain controller and timer rather than
 * AbortSignal.any([parent, AbortSignal.timeout(ms)]): on Node 20 that timeout signal is
 * garbage collected when nothing else holds it, and then never fires (seen: a provisioner
 * `timeout` that let a hung script run forever once a GC ran).
 */
export function signalWithTimeout(parent: AbortSignal, ms: number): TimeoutScope {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(parent.reason);
  const timer = startTimer(ms, () => {
    timedOut = true;
    controller.abort(new TimeoutError(`timed out after ${ms} ms`));
  });
  if (parent.aborted) onAbort();
  else parent.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    clear() {
      timer.clear();
      parent.removeEventListener("abort", onAbort);
    },
  };
}
