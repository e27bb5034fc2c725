// Finds the ISO (or base disk) a build uses: the first of iso_url/iso_urls that can be had,
// local or downloaded into the cache, and verified against iso_checksum before anything runs.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { ConfigError, TsimgError } from "../core/errors.js";
import { hashFile } from "../util/hash-file.js";
import { ProgressLog } from "../util/progress.js";
import { expectedChecksum, type Checksum } from "./checksum.js";
import { download } from "./download.js";
import { VerifiedFiles } from "./verified.js";

export interface FetchIsoOptions {
  /** Absolute local paths and http(s) URLs, tried in order. */
  sources: string[];
  /** iso_checksum as written. */
  checksum: string;
  /** Resolves a relative path (of a `file:` checksum list) against the template. */
  resolveLocal: (path: string) => string;
  /** Downloads and verification records live here (TSIMG_CACHE_DIR). */
  cacheDir: string;
  /** Digests wanted besides the checksum's own, e.g. sha256 for the manifest. */
  alsoHash?: string[];
  signal?: AbortSignal;
  events: { info(message: string): void; warn(message: string): void };
  progressIntervalMs?: number;
  /** Pause before retrying a failed transfer (doubled while it gets nowhere); default 500 ms. */
  downloadRetryDelayMs?: number;
}

export interface FetchedIso {
  path: string;
  /** type -> hex, for the checksum's type and every alsoHash type. */
  digests: Record<string, string>;
  /** Whether it came from the cache (downloaded now or earlier) rather than a local path. */
  downloaded: boolean;
}

export function isRemote(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/** The default cache: $TSIMG_CACHE_DIR, else $XDG_CACHE_HOME/tsimg, else ~/.cache/tsimg. */
export function defaultCacheDir(env: NodeJS.ProcessEnv, home: string): string {
  return env.TSIMG_CACHE_DIR || join(env.XDG_CACHE_HOME || join(home, ".cache"), "tsimg");
}

export async function fetchIso(options: FetchIsoOptions): Promise<FetchedIso> {
  const verified = new VerifiedFiles(join(options.cacheDir, "verified"));
  const problems: string[] = [];
  for (const source of options.sources) {
    const remote = isRemote(source);
    const name = remote ? basename(new URL(source).pathname) || "download" : basename(source);
    if (!remote && !existsSync(source)) {
      problems.push(`${source}: no such file`);
      continue;
    }
    const expected = await expectedChecksum(options.checksum, name, options.resolveLocal, options.signal);
    if (!expected) options.events.warn(`iso_checksum = "none": ${name} is not verified`);
    const want = [...new Set([...(expected ? [expected.type] : []), ...(options.alsoHash ?? [])])];
    if (!remote) {
      return {
        path: source,
        digests: await verify(source, expected, want, verified, options, false),
        downloaded: false,
      };
    }
    const dir = join(
      options.cacheDir,
      "downloads",
      expected ? `${expected.type}-${expected.hex}` : `url-${sha256(source).slice(0, 24)}`,
    );
    const path = join(dir, name);
    if (existsSync(path)) {
      try {
        options.events.info(`using ${name} from the cache (${dir})`);
        return { path, digests: await verify(path, expected, want, verified, options, true), downloaded: true };
      } catch (error) {
        if (!(error instanceof ChecksumMismatch)) throw error;
        options.events.warn(`${error.message}; downloading it again`);
      }
    }
    await mkdir(dir, { recursive: true });
    try {
      await download(source, path, {
        progress: options,
        warn: (message) => options.events.warn(message),
        ...(options.downloadRetryDelayMs !== undefined ? { retryDelayMs: options.downloadRetryDelayMs } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (options.signal?.aborted || !(error instanceof TsimgError)) throw error;
      problems.push(error.message);
      if (options.sources.length > 1) options.events.warn(`${error.message}; trying the next of iso_urls`);
      continue;
    }
    return { path, digests: await verify(path, expected, want, verified, options, true), downloaded: true };
  }
  throw new TsimgError(
    problems.length === 1 ? (problems[0] as string) : `no ISO could be had:\n  ${problems.join("\n  ")}`,
  );
}

class ChecksumMismatch extends ConfigError {}

/** Hashes `path` unless a record says it was hashed unchanged; a mismatch removes only files in our cache. */
async function verify(
  path: string,
  expected: Checksum | undefined,
  want: string[],
  verified: VerifiedFiles,
  options: FetchIsoOptions,
  ours: boolean,
): Promise<Record<string, string>> {
  const known = (await verified.lookup(path)) ?? {};
  let digests = known;
  if (!want.every((type) => known[type] !== undefined)) {
    const progress = new ProgressLog(options, `verifying ${basename(path)}`);
    digests = {
      ...known,
      ...(await hashFile(path, want, { ...(options.signal ? { signal: options.signal } : {}), progress })),
    };
  } else if (expected) {
    options.events.info(
      `${basename(path)} was verified before and has not changed since (size, mtime): not hashing it again`,
    );
  }
  if (expected) {
    const actual = digests[expected.type];
    if (actual !== expected.hex) {
      if (ours) await rm(path, { force: true });
      throw new ChecksumMismatch(
        `iso_checksum does not match ${path}: expected ${expected.type}:${expected.hex}, got ${expected.type}:${actual}${ours ? " (the download was removed from the cache)" : ""}`,
        { key: "source.iso_checksum" },
      );
    }
    options.events.info(`${expected.type} of ${basename(path)} matches`);
  }
  if (digests !== known) await verified.remember(path, digests);
  return digests;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
