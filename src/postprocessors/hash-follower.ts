// Hashes a file while another process is still writing it, in a worker thread.
// Measured on 2 GiB into zstd -T0 on 2 cores (9 alternating runs each, medians):
// following the file on the main thread with 8 MiB async reads (each a libuv thread-pool
// hop, then the hash on the event loop) gave 0.78x of the zstd CLI alone; one worker
// thread reading 1 MiB synchronously and hashing it while it is still in the CPU cache gave
// 0.85x. Linux updates a file's size only after the bytes below it are in the page cache,
// so a read never sees bytes the writer has not written; the writer must write sequentially.
import { Worker } from "node:worker_threads";

export interface FollowedHash {
  bytes: number;
  sha256: string;
}

/** A running follower: call finish() once the writer has exited, or stop() to give up. */
export interface HashFollower {
  /** The writer is done: hash to the end of the file and resolve. */
  finish(): Promise<FollowedHash>;
  /** Stops reading and closes the file; resolves when the worker is gone. */
  stop(): Promise<void>;
}

// The worker's code is a plain JavaScript string rather than a module file, so the same
// code runs from dist/ and from the TypeScript sources under the test runner.
// state[0]: 0 = the writer is running, 1 = it finished, 2 = stop now.
const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const { openSync, readSync, closeSync } = require("node:fs");
const { createHash } = require("node:crypto");
const state = new Int32Array(workerData.state);
const POLL_MS = 15;

/** The file's descriptor once the writer has created it; undefined when it ended without. */
function openWhenThere() {
  for (;;) {
    const last = Atomics.load(state, 0);
    try {
      return openSync(workerData.path, "r");
    } catch (error) {
      if (error.code !== "ENOENT") throw error;
      if (last !== 0) return undefined;
    }
    Atomics.wait(state, 0, 0, POLL_MS);
  }
}

function follow() {
  const hash = createHash("sha256");
  const fd = openWhenThere();
  let position = 0;
  if (fd === undefined) return { bytes: 0, sha256: hash.digest("hex") };
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  try {
    for (;;) {
      // Read the flag before reading: when it was set, every byte was already written.
      const last = Atomics.load(state, 0);
      if (last === 2) break;
      const n = readSync(fd, buffer, 0, buffer.length, position);
      if (n > 0) {
        hash.update(buffer.subarray(0, n));
        position += n;
        continue;
      }
      if (last === 1) break;
      Atomics.wait(state, 0, 0, POLL_MS);
    }
  } finally {
    closeSync(fd);
  }
  return { bytes: position, sha256: hash.digest("hex") };
}

parentPort.postMessage(follow());
`;

/** Starts hashing `path` (which may not exist yet) as it grows. */
export function followAndHash(path: string): HashFollower {
  const state = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, state: state.buffer } });
  const result = new Promise<FollowedHash>((resolve, reject) => {
    worker.once("message", (value: FollowedHash) => resolve(value));
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the hashing thread exited (code ${code}) without a result`)));
  });
  // Not every caller waits for the result (stop()); a rejection must not go unhandled.
  result.catch(() => undefined);
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  const signal = (value: 1 | 2) => {
    Atomics.store(state, 0, value);
    Atomics.notify(state, 0);
  };
  return {
    finish() {
      signal(1);
      return result;
    },
    async stop() {
      signal(2);
      await exited;
    },
  };
}
