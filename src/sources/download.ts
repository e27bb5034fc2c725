// HTTP(S) downloads that resume: the body goes to "<dest>.part", an interrupted transfer
// continues with a Range request, and the file gets its final name only when complete.
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { rename, stat } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as delay } from "node:timers/promises";
import { TsimgError } from "../core/errors.js";
import { ProgressLog, type ProgressSink } from "../util/progress.js";

export interface DownloadOptions {
  signal?: AbortSignal;
  progress: ProgressSink;
  /** Transfers tried (the first plus resumptions). Default 4. */
  attempts?: number;
  /**
   * Pause before the second attempt, doubled before each further one unless the last attempt
   * got some bytes (then the next starts after this pause again). Default 500 ms.
   */
  retryDelayMs?: number;
  /** Where a retry is reported. */
  warn: (message: string) => void;
}

/** Downloads `url` to `dest`. Throws a TsimgError naming the URL when it cannot get all of it. */
export async function download(url: string, dest: string, options: DownloadOptions): Promise<void> {
  const part = `${dest}.part`;
  const attempts = options.attempts ?? 4;
  const baseDelay = options.retryDelayMs ?? 500;
  let pause = baseDelay;
  let lastProblem = "";
  let done = false;
  /** Bytes in the .part when the last attempt started. */
  let before = 0;
  for (let attempt = 1; attempt <= attempts && !done; attempt++) {
    // Nothing writes the .part between attempts: its size now is also its size after the pause.
    const have = await sizeOf(part);
    if (attempt > 1) {
      // A server that is briefly down or overloaded gets a moment, longer each time it gets nowhere.
      pause = attempt === 2 || have > before ? baseDelay : pause * 2;
      options.warn(
        `${url}: ${lastProblem}; trying again in ${(pause / 1000).toFixed(1)} s (attempt ${attempt} of ${attempts})`,
      );
      await delay(pause, undefined, options.signal ? { signal: options.signal } : {});
    }
    before = have;
    if (have > 0) options.progress.events.info(`${url}: resuming at ${have} bytes`);
    let response: Response;
    try {
      response = await fetch(url, {
        headers: have > 0 ? { Range: `bytes=${have}-` } : {},
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      lastProblem = describe(error);
      continue;
    }
    if (response.status === 416 && have > 0) {
      // The .part already holds everything (a crash after the last byte): the checksum decides.
      await response.body?.cancel();
      done = true;
      continue;
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      const problem = `HTTP ${response.status} ${response.statusText}`.trim();
      if (response.status >= 400 && response.status < 500) throw new TsimgError(`cannot download ${url}: ${problem}`);
      lastProblem = problem;
      continue;
    }
    const resumed = response.status === 206 && have > 0;
    const start = resumed ? have : 0;
    const length = Number(response.headers.get("content-length") ?? NaN);
    const total = Number.isFinite(length) ? start + length : undefined;
    const progress = new ProgressLog(options.progress, `downloading ${url}`, total);
    progress.set(start);
    let received = start;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        progress.set(received);
        done(null, chunk);
      },
    });
    const out = createWriteStream(part, { flags: resumed ? "a" : "w" });
    try {
      await pipeline(Readable.fromWeb(response.body as import("node:stream/web").ReadableStream), count, out, {
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      // pipeline() rejects at the first error, while the .part may still have a write in
      // flight: the next attempt must see its final size (the Range it asks for) and must not
      // append before that write lands (seen in CI: a resumed ISO that failed its checksum).
      if (!out.closed) await once(out, "close").catch(() => undefined);
      if (options.signal?.aborted) throw error;
      lastProblem = `the transfer broke off after ${received} of ${total ?? "?"} bytes (${describe(error)})`;
      continue;
    }
    if (total !== undefined && received !== total) {
      lastProblem = `got ${received} of ${total} bytes`;
      continue;
    }
    progress.finish();
    done = true;
  }
  if (!done) {
    throw new TsimgError(
      `cannot download ${url}: ${lastProblem} (gave up after ${attempts} attempts; the partial file stays in the cache to resume next time)`,
    );
  }
  await rename(part, dest);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function describe(error: unknown): string {
  const e = error as Error & { cause?: Error & { code?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
