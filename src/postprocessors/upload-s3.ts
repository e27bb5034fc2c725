// upload (target = "s3"): each file to an S3-compatible store (AWS, MinIO, Ceph RGW, Alibaba
// OSS in S3 mode) through @aws-sdk/client-s3. A file larger than one part goes up as a
// multipart upload, `queue_size` parts at a time; every part is a read stream over its byte
// range of the file, so nothing is held in memory, and a failed part is sent again by
// re-opening its range. (lib-storage's Upload would buffer each part in memory, and the SDK's
// own retries cannot re-send a consumed stream, so tsimg drives the parts and the retries.)
//
// Verified: every part's ETag against the MD5 of the bytes read for it (where the ETag is an
// MD5: not under SSE-KMS or SSE-C), then HeadObject: the size, the whole object's ETag
// (multipart form: MD5 of the part MD5s, "-N"), and the `sha256` metadata tsimg set.
// A failure or cancellation aborts the multipart upload, so the store keeps no parts.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { Transform, pipeline, type Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import { CancelledError, TsimgError } from "../core/errors.js";
import { renderRuntime } from "../core/runtime-vars.js";
import { deriveArtifact, type Artifact } from "./artifact.js";
import { commonValues } from "./files.js";
import { ProgressLog, formatBytes } from "../util/progress.js";
import { describe, verify, withRetries, type Target } from "./s3-requests.js";
import type { PostProcessorContext, UploadConfig } from "./types.js";

const MIB = 1024 * 1024;
const MAX_PARTS = 10_000;
const DEFAULT_KEY = "{{ .Name }}/{{ .Version }}/{{ .FileName }}";

/** One uploaded object, as recorded in the artifact's data. */
export interface S3Object {
  bucket: string;
  key: string;
  /** s3://bucket/key */
  uri: string;
  /** The object's URL at the endpoint (path or virtual-hosted style). */
  url: string;
  size: number;
  etag?: string;
  parts: number;
}

export async function uploadS3(input: Artifact, config: UploadConfig, ctx: PostProcessorContext): Promise<Artifact> {
  const bucket = config.bucket;
  if (!bucket) throw new TsimgError('upload: target "s3" needs bucket');
  const keyTemplate = config.key ?? DEFAULT_KEY;
  if (input.files.length > 1 && !/\{\{\s*\.FileName\s*\}\}/.test(keyTemplate)) {
    throw new TsimgError(
      `upload: the artifact has ${input.files.length} files, so key needs {{ .FileName }} to give each its own key`,
    );
  }
  const client = makeClient(config, ctx);
  try {
    const objects: S3Object[] = [];
    for (const [i, file] of input.files.entries()) {
      // The artifact's checksums describe files[0] only.
      const sha256 = i === 0 ? input.checksums.sha256 : undefined;
      objects.push(await uploadFile(client, file, sha256, input, config, ctx));
    }
    const id = objects[0]?.uri ?? "";
    return deriveArtifact(input, "upload", {
      id,
      location: id,
      data: { upload_urls: objects.map((o) => o.uri), s3_objects: objects },
    });
  } finally {
    client.destroy();
  }
}

function makeClient(config: UploadConfig, ctx: PostProcessorContext): S3Client {
  const accessKeyId = config.access_key ?? process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = config.secret_key ?? process.env.AWS_SECRET_ACCESS_KEY;
  const sessionToken =
    config.access_key !== undefined ? config.session_token : process.env.AWS_SESSION_TOKEN || undefined;
  if (!accessKeyId || !secretAccessKey) {
    throw new TsimgError(
      'upload: target "s3" needs access_key and secret_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment',
    );
  }
  return new S3Client({
    region: config.region ?? "us-east-1",
    endpoint: config.endpoint,
    forcePathStyle: config.force_path_style ?? config.endpoint !== undefined,
    credentials: { accessKeyId, secretAccessKey, sessionToken },
    // tsimg retries each request itself (a part's body is a stream the SDK cannot rewind).
    maxAttempts: 1,
    // No aws-chunked bodies with trailing CRC checksums: many S3-compatible stores (older
    // MinIO, Ceph RGW, OSS) reject them. Integrity is checked with MD5 ETags instead.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: { requestTimeout: config.timeout, connectionTimeout: Math.min(config.timeout, 30_000) },
    // The SDK's own notes ("non-retryable streaming request" when a part fails) go to the
    // debug log; tsimg logs the retry itself.
    logger: {
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (m: unknown) => ctx.events.debug(`upload: aws-sdk: ${String(m)}`),
      error: (m: unknown) => ctx.events.debug(`upload: aws-sdk: ${String(m)}`),
    },
  });
}

/** The part size in bytes: part_size, grown so the file needs at most 10,000 parts. */
function partSizeFor(size: number, config: UploadConfig, ctx: PostProcessorContext): number {
  const wanted = (config.part_size ?? 64) * MIB;
  const needed = Math.ceil(size / MAX_PARTS);
  if (needed <= wanted) return wanted;
  const grown = Math.ceil(needed / MIB) * MIB;
  ctx.events.info(
    `upload: part_size ${formatBytes(wanted)} would need more than ${MAX_PARTS} parts; using ${formatBytes(grown)}`,
  );
  return grown;
}

async function uploadFile(
  client: S3Client,
  file: string,
  sha256: string | undefined,
  input: Artifact,
  config: UploadConfig,
  ctx: PostProcessorContext,
): Promise<S3Object> {
  const bucket = config.bucket!;
  const values = {
    ...commonValues(ctx),
    Name: String(input.image.name),
    Version: input.image.version === undefined ? "" : String(input.image.version),
    FileName: basename(file),
  };
  const key = renderRuntime(config.key ?? DEFAULT_KEY, values, "upload key").replace(/^\/+/, "");
  if (key === "") throw new TsimgError("upload: key is empty after filling in its placeholders");
  const uri = `s3://${bucket}/${key}`;
  const size = (await stat(file)).size;
  const partSize = partSizeFor(size, config, ctx);
  const count = Math.max(1, Math.ceil(size / partSize));
  const metadata = sha256 ? { sha256 } : undefined;
  const target: Target = { client, bucket, key, uri, config, ctx };
  ctx.events.info(
    `upload: ${basename(file)} -> ${uri}${config.endpoint ? ` at ${config.endpoint}` : ""} (${formatBytes(size)}${count > 1 ? `, ${count} parts of ${formatBytes(partSize)}, ${Math.min(config.queue_size ?? 4, count)} at once` : ""})`,
  );
  const progress = new ProgressLog(ctx, `upload ${basename(file)}`, size);
  let expectedEtag: string | undefined;
  if (count === 1) {
    const part = await sendRange(
      target,
      file,
      0,
      size,
      progress,
      "PUT",
      (body, length) =>
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentLength: length,
          ContentType: "application/octet-stream",
          Metadata: metadata,
        }),
    );
    expectedEtag = part.md5 === undefined ? undefined : part.md5.toString("hex");
  } else {
    const md5s = await multipart(target, file, size, partSize, count, metadata, progress);
    expectedEtag =
      md5s === undefined ? undefined : `${createHash("md5").update(Buffer.concat(md5s)).digest("hex")}-${count}`;
  }
  progress.finish(count > 1 ? ` in ${count} parts` : "");
  const etag = await verify(target, size, expectedEtag, sha256);
  return { bucket, key, uri, url: objectUrl(config, bucket, key), size, etag, parts: count };
}

/** Create, parts (queue_size at a time), complete; aborts the upload when anything fails. Returns each part's MD5, or undefined when the store's ETags are not MD5s. */
async function multipart(
  t: Target,
  file: string,
  size: number,
  partSize: number,
  count: number,
  metadata: Record<string, string> | undefined,
  progress: ProgressLog,
): Promise<Buffer[] | undefined> {
  const { client, bucket, key, ctx } = t;
  const created = await withRetries(t, "create multipart upload", () =>
    client.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ContentType: "application/octet-stream",
        Metadata: metadata,
      }),
      { abortSignal: ctx.signal },
    ),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new TsimgError(`upload to ${t.uri}: the store returned no UploadId`);
  ctx.events.debug(`upload: multipart upload ${uploadId} of ${t.uri}`);
  const parts: CompletedPart[] = [];
  const md5s: Array<Buffer | undefined> = [];
  let next = 1;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next <= count && !ctx.signal.aborted) {
      const n = next++;
      const start = (n - 1) * partSize;
      const end = Math.min(start + partSize, size);
      try {
        const sent = await sendRange(
          t,
          file,
          start,
          end,
          progress,
          `part ${n}/${count}`,
          (body, length) =>
            new UploadPartCommand({
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: n,
              Body: body,
              ContentLength: length,
            }),
        );
        parts[n - 1] = { PartNumber: n, ETag: sent.etag };
        md5s[n - 1] = sent.md5;
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(t.config.queue_size ?? 4, count) }, worker));
  if (failure !== undefined || ctx.signal.aborted) {
    await abortUpload(t, uploadId);
    if (ctx.signal.aborted || failure instanceof CancelledError) throw new CancelledError();
    throw failure;
  }
  try {
    await withRetries(t, "complete multipart upload", () =>
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
        { abortSignal: ctx.signal },
      ),
    );
  } catch (error) {
    await abortUpload(t, uploadId);
    throw ctx.signal.aborted ? new CancelledError() : error;
  }
  return md5s.every((m): m is Buffer => m !== undefined) ? md5s : undefined;
}

/** AbortMultipartUpload, with a signal of its own (the build's may have fired); a failure is logged, not thrown. */
async function abortUpload(t: Target, uploadId: string): Promise<void> {
  try {
    await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: t.key, UploadId: uploadId }), {
      abortSignal: AbortSignal.timeout(30_000),
    });
    t.ctx.events.info(`upload: aborted the multipart upload of ${t.uri}; the store keeps none of its parts`);
  } catch (error) {
    t.ctx.events.warn(
      `upload: could not abort multipart upload ${uploadId} of ${t.uri} (${describe(error)}); its parts stay in the bucket until removed or expired by a lifecycle rule`,
    );
  }
}

/**
 * Sends bytes [start, end) of the file as one request body, streamed, with retries (a fresh
 * stream each attempt). The ETag is checked against the MD5 of the bytes read when it is one.
 */
async function sendRange(
  t: Target,
  file: string,
  start: number,
  end: number,
  progress: ProgressLog,
  what: string,
  command: (body: Readable, length: number) => PutObjectCommand | UploadPartCommand,
): Promise<{ etag?: string; md5?: Buffer }> {
  return withRetries(t, what, async () => {
    const hash = createHash("md5");
    let read = 0;
    // The bytes are counted and hashed as the SDK pulls them (a "data" listener on the file
    // stream would start it flowing before the SDK reads it, losing the first chunks).
    const body = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        read += chunk.length;
        progress.add(chunk.length);
        done(null, chunk);
      },
    });
    // createReadStream's `end` is inclusive; an empty file is read whole.
    const source = createReadStream(file, end > start ? { start, end: end - 1, highWaterMark: MIB } : {});
    pipeline(source, body, () => undefined);
    try {
      const out = await t.client.send(command(body, end - start) as PutObjectCommand, { abortSignal: t.ctx.signal });
      const md5 = hash.digest();
      if (read !== end - start) throw new Error(`read ${read} bytes of the file, expected ${end - start}`);
      const etag = out.ETag;
      const encrypted =
        (out.ServerSideEncryption ?? "").startsWith("aws:kms") || out.SSECustomerAlgorithm !== undefined;
      const plain = etag?.replace(/"/g, "").toLowerCase();
      if (encrypted || plain === undefined || !/^[0-9a-f]{32}$/.test(plain)) return { etag };
      if (plain !== md5.toString("hex"))
        throw new Error(`the store's ETag ${plain} is not the MD5 ${md5.toString("hex")} of the bytes sent`);
      return { etag, md5 };
    } catch (error) {
      progress.add(-read);
      body.destroy();
      throw error;
    }
  });
}

/** The object's URL at the endpoint, in the addressing style the client uses. */
function objectUrl(config: UploadConfig, bucket: string, key: string): string {
  const path = key.split("/").map(encodeURIComponent).join("/");
  const region = config.region ?? "us-east-1";
  const base = new URL(config.endpoint ?? `https://s3.${region}.amazonaws.com`);
  const pathStyle = config.force_path_style ?? config.endpoint !== undefined;
  const prefix = base.pathname.replace(/\/+$/, "");
  if (pathStyle) return `${base.protocol}//${base.host}${prefix}/${bucket}/${path}`;
  return `${base.protocol}//${bucket}.${base.host}${prefix}/${path}`;
}
