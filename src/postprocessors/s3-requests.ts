// The S3 requests every upload shares: a retry loop that knows which answers are worth
// another try, and the final HeadObject check of what the store holds.
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { sleep } from "../core/abort.js";
import { CancelledError, TsimgError } from "../core/errors.js";
import { HttpError, bodyText, formatWait } from "./http-retry.js";
import type { PostProcessorContext, UploadConfig } from "./types.js";

/** One object being uploaded, and what the requests for it need. */
export interface Target {
  client: S3Client;
  bucket: string;
  key: string;
  uri: string;
  config: UploadConfig;
  ctx: PostProcessorContext;
}

/** HeadObject: size (must match), ETag (must match when both are MD5 forms), sha256 metadata. Returns the ETag. */
export async function verify(
  t: Target,
  size: number,
  expectedEtag: string | undefined,
  sha256: string | undefined,
): Promise<string | undefined> {
  const head = await withRetries(t, "HEAD", () =>
    t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: t.key }), { abortSignal: t.ctx.signal }),
  );
  if (head.ContentLength !== size)
    throw new TsimgError(
      `upload to ${t.uri}: the store has ${head.ContentLength ?? "no size for"} bytes, the file has ${size}`,
    );
  const checked = [`${size} bytes`];
  const etag = head.ETag?.replace(/"/g, "").toLowerCase();
  if (expectedEtag !== undefined && etag !== undefined) {
    if (etag === expectedEtag)
      checked.push(`ETag ${etag} (MD5 of the ${expectedEtag.includes("-") ? "parts" : "content"})`);
    else if (/^[0-9a-f]{32}(-\d+)?$/.test(etag) && etag.includes("-") === expectedEtag.includes("-")) {
      throw new TsimgError(
        `upload to ${t.uri}: the store's ETag ${etag} does not match the MD5 of what was sent (${expectedEtag})`,
      );
    } else
      t.ctx.events.debug(
        `upload: the store's ETag ${etag} is not in the form S3 uses; whole-object MD5 not compared (each part's was)`,
      );
  }
  if (sha256 !== undefined) {
    const stored = head.Metadata?.sha256;
    if (stored !== sha256)
      throw new TsimgError(
        `upload to ${t.uri}: the object's sha256 metadata is ${stored ?? "missing"}, expected ${sha256}`,
      );
    checked.push("sha256 metadata");
  }
  t.ctx.events.info(`upload: verified ${t.uri}: ${checked.join(", ")}`);
  return head.ETag;
}

/** Runs `send` up to `retries` times: network errors, 5xx, 408 and 429 are retried with backoff, each logged; other 4xx fail at once. */
export async function withRetries<T>(t: Target, what: string, send: () => Promise<T>): Promise<T> {
  const { ctx, config } = t;
  let lastProblem = "";
  for (let n = 1; n <= config.retries; n++) {
    if (n > 1) {
      const wait = Math.min(config.retry_delay * 2 ** (n - 2), 60_000);
      ctx.events.warn(
        `upload: ${what}: attempt ${n}/${config.retries} after ${lastProblem}${wait > 0 ? ` (waited ${formatWait(wait)})` : ""}`,
      );
      await sleep(wait, ctx.signal);
    }
    try {
      return await send();
    } catch (error) {
      if (ctx.signal.aborted || error instanceof CancelledError) throw new CancelledError();
      lastProblem = describe(error);
      const status = statusOf(error);
      if (status !== undefined && status >= 300 && status < 500 && status !== 408 && status !== 429) {
        throw new HttpError(`upload to ${t.uri}: ${what}: ${lastProblem}`, status);
      }
    }
  }
  throw new HttpError(
    `upload to ${t.uri}: ${what}: gave up after ${config.retries} attempt${config.retries === 1 ? "" : "s"}; last: ${lastProblem}`,
  );
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** `HTTP 403 AccessDenied: Access Denied`, or the network error's message. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = statusOf(error);
  if (status === undefined) return error.message;
  const name = error.name && error.name !== "Error" && error.name !== "Unknown" ? error.name : "";
  const message = error.message && error.message !== name && error.message !== "UnknownError" ? error.message : "";
  return `HTTP ${status}${name ? ` ${name}` : ""}${message ? bodyText(message) : ""}`;
}
