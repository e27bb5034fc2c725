// HTTP with retries: network errors and 5xx (and 408/429) are retried with exponential
// backoff, each retry logged; any other 4xx fails at once with the server's own words.
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Readable } from "node:stream";
import { MAX_TIMER_MS, sleep } from "../core/abort.js";
import { CancelledError, TsimgError } from "../core/errors.js";
import type { PostProcessorContext } from "./types.js";

export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: IncomingMessage["headers"];
  /** At most the first 64 KiB of the body, as text. */
  body: string;
}

export interface HttpAttempt {
  method: string;
  url: string;
  headers: OutgoingHttpHeaders;
  /** A fresh body for each attempt (a file stream), or a buffer. */
  body?: () => Readable | Buffer;
  /** An attempt fails after this long without a byte moving. */
  idleTimeoutMs: number;
}

/** A request that got an answer the caller should not retry (4xx) or ran out of attempts. */
export class HttpError extends TsimgError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Sends one request; resolves with any HTTP answer, rejects on network errors or abort. */
export function sendOnce(attempt: HttpAttempt, signal: AbortSignal): Promise<HttpAnswer> {
  const url = new URL(attempt.url);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // A connection of its own (agent: false): a cancelled upload must cut its socket, not return it to a pool.
    const req = send(url, { method: attempt.method, headers: attempt.headers, signal, agent: false });
    const cut = () => req.socket?.destroy();
    signal.addEventListener("abort", cut, { once: true });
    req.once("close", () => signal.removeEventListener("abort", cut));
    // A socket timeout past MAX_TIMER_MS would fire after 1 ms; an idle limit of 24.8 days is none.
    req.setTimeout(Math.min(attempt.idleTimeoutMs, MAX_TIMER_MS), () =>
      req.destroy(new Error(`no progress for ${attempt.idleTimeoutMs / 1000} s`)),
    );
    req.once("error", (error) => reject(signal.aborted ? new CancelledError() : error));
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on("data", (chunk: Buffer) => {
        if (kept < 65536) chunks.push(chunk);
        kept += chunk.length;
      });
      res.once("error", reject);
      res.once("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? "",
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    const body = attempt.body?.();
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      body.once("error", (error) => req.destroy(error));
      body.pipe(req);
      // A server that answers early (403 before the body ends) must not leave the file open.
      req.once("close", () => body.destroy());
    }
  });
}

/** Whether an answer is worth another attempt. */
function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * Sends with up to `attempts` tries. Resolves with the first 2xx/3xx answer; a 4xx
 * rejects at once with `<what>: HTTP 403 Forbidden: <body>`.
 */
export async function sendWithRetries(
  what: string,
  attempt: HttpAttempt,
  options: {
    attempts: number;
    delayMs: number;
    ctx: PostProcessorContext;
    /** Prefix of retry lines ("upload"); defaults to `what`. */
    label?: string;
    onAttempt?: () => void;
  },
): Promise<HttpAnswer> {
  const { ctx } = options;
  let lastProblem = "";
  for (let n = 1; n <= options.attempts; n++) {
    if (n > 1) {
      const wait = Math.min(options.delayMs * 2 ** (n - 2), 60_000);
      ctx.events.warn(
        `${options.label ?? what}: attempt ${n}/${options.attempts} after ${lastProblem}${wait > 0 ? ` (waited ${formatWait(wait)})` : ""}`,
      );
      await sleep(wait, ctx.signal);
    }
    options.onAttempt?.();
    let answer: HttpAnswer;
    try {
      answer = await sendOnce(attempt, ctx.signal);
    } catch (error) {
      if (ctx.signal.aborted || error instanceof CancelledError) throw new CancelledError();
      lastProblem = `${(error as Error).message}`;
      continue;
    }
    if (answer.status < 400) return answer;
    lastProblem = `HTTP ${answer.status} ${answer.statusText}`.trim();
    if (!retryable(answer.status))
      throw new HttpError(`${what}: ${lastProblem}${bodyText(answer.body)}`, answer.status);
  }
  throw new HttpError(
    `${what}: gave up after ${options.attempts} attempt${options.attempts === 1 ? "" : "s"}; last: ${lastProblem}`,
  );
}

/** ": <first 200 characters of the body>", or "" for an empty body. */
export function bodyText(body: string): string {
  const text = body.trim().replace(/\s+/g, " ");
  return text ? `: ${text.length > 200 ? `${text.slice(0, 200)}...` : text}` : "";
}

/** The URL without user:password@, for messages. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.toString();
  } catch {
    return url;
  }
}

export function formatWait(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}
