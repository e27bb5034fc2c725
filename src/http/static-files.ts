// Files from http_directory, and nothing else. Under `tsimg serve` the directory comes from
// a merge request, so a committed symlink (ks.cfg -> /etc/shadow) or a "../" in the URL must
// not let the guest, and through it the build's output, read the build host's files: every
// path is resolved with realpath and must land inside the directory's own realpath. Dotfiles
// (.git, .env) are never served either: kickstarts do not need them, and they hold secrets.
import type Koa from "koa";
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { extname, join, relative, sep } from "node:path";

/** Why a request for an existing path was answered 404; the request log line shows it. */
export type Refusal = "outside http_directory" | "a dotfile";

/** A file that may be served: its real path and what the headers need. */
interface Found {
  path: string;
  size: number;
  mtime: Date;
}

/** Koa middleware serving GET and HEAD from `root`; anything it will not serve goes to `next` (404). */
export function serveDirectory(root: string): Koa.Middleware {
  let realRoot: Promise<string | undefined> | undefined;
  return async (ctx, next) => {
    if (ctx.method !== "GET" && ctx.method !== "HEAD") return next();
    realRoot ??= realpath(root).catch(() => undefined);
    const base = await realRoot;
    const found = base === undefined ? undefined : await findFile(base, ctx.path);
    if (found === undefined || "refused" in found) {
      if (found) ctx.state.refused = found.refused;
      return next();
    }
    ctx.type = extname(found.path);
    ctx.length = found.size;
    ctx.lastModified = found.mtime;
    // Koa sends no body for HEAD, and destroys the stream when the response ends.
    ctx.body = createReadStream(found.path);
  };
}

/** The regular file `urlPath` names under `base` (already a realpath), a refusal, or undefined when there is none. */
async function findFile(base: string, urlPath: string): Promise<Found | { refused: Refusal } | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0")) return undefined;
  // A URL climbing out ("/..%2f") is refused before the disk is touched; "." is a dot segment too.
  const segments = decoded.split("/");
  if (segments.includes("..")) return { refused: "outside http_directory" };
  if (hasDotSegment(segments)) return { refused: "a dotfile" };
  let real: string;
  try {
    real = await realpath(join(base, decoded));
  } catch {
    return undefined;
  }
  if (!real.startsWith(base + sep)) return { refused: "outside http_directory" };
  // A symlink inside the directory pointing at one of its dotfiles.
  if (hasDotSegment(relative(base, real).split(sep))) return { refused: "a dotfile" };
  const info = await stat(real).catch(() => undefined);
  return info?.isFile() ? { path: real, size: info.size, mtime: info.mtime } : undefined;
}

function hasDotSegment(segments: string[]): boolean {
  return segments.some((segment) => segment.startsWith("."));
}
