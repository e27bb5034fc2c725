// notify: POST the artifact's manifest entry as JSON to the DevOps system, signed with
// HMAC-SHA256 of the exact body bytes; retried on 5xx and network errors.
import { createHmac } from "node:crypto";
import type { OutgoingHttpHeaders } from "node:http";
import type { Artifact } from "./artifact.js";
import { displayUrl, sendWithRetries } from "./http-retry.js";
import { manifestEntry } from "./manifest.js";
import type { NotifyConfig, PostProcessor, PostProcessorContext } from "./types.js";

/** Header carrying `sha256=<hex>`; a receiver recomputes it over the raw body with the shared secret. */
export const SIGNATURE_HEADER = "X-Tsimg-Signature";

/** `sha256=<hex HMAC-SHA256(secret, body)>`. */
export function signBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

async function run(input: Artifact, config: NotifyConfig, ctx: PostProcessorContext): Promise<Artifact> {
  const body = Buffer.from(JSON.stringify(await manifestEntry(input, ctx)));
  const headers: OutgoingHttpHeaders = {
    ...config.headers,
    "content-type": "application/json",
    "content-length": body.length,
    "user-agent": "tsimg",
    ...(config.secret ? { [SIGNATURE_HEADER.toLowerCase()]: signBody(config.secret, body) } : {}),
  };
  const shown = displayUrl(config.url);
  const answer = await sendWithRetries(
    `notify ${shown}`,
    { method: "POST", url: config.url, headers, body: () => body, idleTimeoutMs: config.timeout },
    { attempts: config.retries, delayMs: config.retry_delay, ctx, label: "notify" },
  );
  ctx.events.info(`notify: ${shown} answered HTTP ${answer.status} ${answer.statusText}`.trim());
  return input;
}

/** The notify post-processor. */
export const notifyPostProcessor: PostProcessor<NotifyConfig> = {
  type: "notify",
  keepInputByDefault: true,
  keepInputForced: true,
  run,
};
