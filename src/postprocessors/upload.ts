// upload (target = "http"): an HTTP(S) PUT of each file, streamed from disk (never held in
// memory), retried on 5xx and network errors, its size checked with HEAD afterwards.
// target = "s3" is in upload-s3.ts.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import type { OutgoingHttpHeaders } from "node:http";
import { TsimgError } from "../core/errors.js";
import { renderRuntime } from "../core/runtime-vars.js";
import { deriveArtifact, type Artifact } from "./artifact.js";
import { commonValues } from "./files.js";
import { displayUrl, sendOnce, sendWithRetries } from "./http-retry.js";
import { ProgressLog } from "../util/progress.js";
import type { PostProcessor, PostProcessorContext, UploadConfig } from "./types.js";

async function run(input: Artifact, config: UploadConfig, ctx: PostProcessorContext): Promise<Artifact> {
  // The AWS SDK takes ~150 ms to load: only builds that upload to S3 pay for it.
  if (config.target === "s3") return (await import("./upload-s3.js")).uploadS3(input, config, ctx);
  if (config.url === undefined) throw new TsimgError('upload: target "http" needs url');
  if (input.files.length > 1 && !/\{\{\s*\.FileName\s*\}\}/.test(config.url)) {
    throw new TsimgError(
      `upload: the artifact has ${input.files.length} files, so url needs {{ .FileName }} to give each its own URL`,
    );
  }
  const urls: string[] = [];
  for (const file of input.files) urls.push(await uploadFile(file, input, config, config.url, ctx));
  const id = urls[0] ?? "";
  return deriveArtifact(input, "upload", { id, location: id, data: { upload_urls: urls } });
}

/** PUTs one file; returns its URL. */
async function uploadFile(
  file: string,
  input: Artifact,
  config: UploadConfig,
  urlTemplate: string,
  ctx: PostProcessorContext,
): Promise<string> {
  const values = {
    ...commonValues(ctx),
    Name: String(input.image.name),
    Version: input.image.version === undefined ? "" : String(input.image.version),
    FileName: basename(file),
  };
  const url = renderRuntime(urlTemplate, values, "upload url");
  const shown = displayUrl(url);
  const size = (await stat(file)).size;
  const headers: OutgoingHttpHeaders = {
    ...config.headers,
    ...authHeader(config, url),
    "content-length": size,
    "content-type": "application/octet-stream",
  };
  ctx.events.info(`upload: ${basename(file)} -> ${shown}`);
  let progress = new ProgressLog(ctx, `upload ${basename(file)}`, size);
  const answer = await sendWithRetries(
    `upload to ${shown}`,
    {
      method: "PUT",
      url,
      headers,
      idleTimeoutMs: config.timeout,
      body: () =>
        createReadStream(file, { highWaterMark: 1024 * 1024 }).on("data", (chunk) => progress.add(chunk.length)),
    },
    {
      attempts: config.retries,
      delayMs: config.retry_delay,
      ctx,
      label: "upload",
      onAttempt: () => (progress = new ProgressLog(ctx, `upload ${basename(file)}`, size)),
    },
  );
  progress.finish(` (HTTP ${answer.status})`);
  await verifySize(url, shown, size, headers, config, ctx);
  return url;
}

/** HEAD the uploaded file; a different Content-Length fails the upload. Servers without HEAD are skipped. */
async function verifySize(
  url: string,
  shown: string,
  size: number,
  put: OutgoingHttpHeaders,
  config: UploadConfig,
  ctx: PostProcessorContext,
): Promise<void> {
  const headers = { ...put };
  delete headers["content-length"];
  delete headers["content-type"];
  let answer;
  try {
    answer = await sendOnce({ method: "HEAD", url, headers, idleTimeoutMs: config.timeout }, ctx.signal);
  } catch (error) {
    ctx.events.warn(`upload: could not verify the size of ${shown} (HEAD failed: ${(error as Error).message})`);
    return;
  }
  const length = answer.headers["content-length"];
  if (answer.status >= 300 || length === undefined) {
    ctx.events.debug(
      `upload: the server did not report a size for ${shown} (HEAD: HTTP ${answer.status}); size not verified`,
    );
    return;
  }
  if (Number(length) !== size)
    throw new TsimgError(`upload to ${shown}: the server has ${length} bytes, the file has ${size}`);
  ctx.events.info(`upload: verified ${shown} has ${size} bytes`);
}

function authHeader(config: UploadConfig, url: string): OutgoingHttpHeaders {
  if (config.token !== undefined) return { authorization: `Bearer ${config.token}` };
  if (config.username !== undefined) {
    return { authorization: `Basic ${Buffer.from(`${config.username}:${config.password ?? ""}`).toString("base64")}` };
  }
  const parsed = new URL(url);
  if (parsed.username) {
    const user = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
    return { authorization: `Basic ${Buffer.from(user).toString("base64")}` };
  }
  return {};
}

/** The upload post-processor. */
export const uploadPostProcessor: PostProcessor<UploadConfig> = {
  type: "upload",
  keepInputByDefault: true,
  keepInputForced: false,
  run,
};
