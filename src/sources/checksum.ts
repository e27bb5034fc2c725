// iso_checksum in every form Packer accepts: "sha256:<hex>", bare hex, "file:<path or URL>", "none".
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { ConfigError } from "../core/errors.js";

const BY_LENGTH: Record<number, string> = { 32: "md5", 40: "sha1", 64: "sha256", 128: "sha512" };

/** A checksum to verify against: an algorithm and lower-case hex. */
export interface Checksum {
  type: string;
  hex: string;
}

const LENGTH_OF: Record<string, number> = Object.fromEntries(
  Object.entries(BY_LENGTH).map(([length, type]) => [type, Number(length)]),
);

/** "sha256:abc" or bare hex -> { type, hex }. A named type must have exactly its number of digits. */
export function parseChecksum(value: string): Checksum {
  const match = /^(?:(md5|sha1|sha256|sha512):)?([0-9a-fA-F]+)$/.exec(value.trim());
  const digits = match?.[2]?.length ?? 0;
  if (match?.[1] !== undefined && LENGTH_OF[match[1]] !== digits) {
    // A truncated paste, or a sha1 labelled sha256: either way it can never match.
    throw new ConfigError(
      `iso_checksum "${value}": a ${match[1]} checksum has ${LENGTH_OF[match[1]]} hex digits, this one has ${digits}`,
      { key: "source.iso_checksum" },
    );
  }
  const type = match?.[1] ?? BY_LENGTH[digits];
  if (!match || !type) {
    throw new ConfigError(
      `iso_checksum "${value}" is not understood: use sha256:<hex>, sha512:<hex>, sha1:<hex>, md5:<hex>, bare hex, file:<path or URL>, or none`,
      {
        key: "source.iso_checksum",
      },
    );
  }
  return { type, hex: (match[2] as string).toLowerCase() };
}

/**
 * The expected checksum for the file named `fileName`, or undefined for "none".
 * `file:` reads a SHA256SUMS-style list (GNU "<hex>  name" or BSD "SHA256 (name) = <hex>")
 * from a local path (relative to the template) or an http(s) URL, and picks the line for `fileName`.
 */
export async function expectedChecksum(
  spec: string,
  fileName: string,
  resolveLocal: (path: string) => string,
  signal?: AbortSignal,
): Promise<Checksum | undefined> {
  if (spec === "none") return undefined;
  if (!spec.startsWith("file:")) return parseChecksum(spec);
  const where = spec.slice("file:".length);
  const text = await readChecksumList(where, resolveLocal, signal);
  const found = findInChecksumList(text, fileName);
  if (!found)
    throw new ConfigError(`iso_checksum: ${where} has no line for ${fileName}`, { key: "source.iso_checksum" });
  return found;
}

async function readChecksumList(
  where: string,
  resolveLocal: (path: string) => string,
  signal?: AbortSignal,
): Promise<string> {
  if (/^https?:\/\//i.test(where)) {
    const response = await fetch(where, signal ? { signal } : {}).catch((error: Error) => {
      throw new ConfigError(
        `iso_checksum: cannot fetch ${where}: ${error.cause instanceof Error ? error.cause.message : error.message}`,
        { key: "source.iso_checksum" },
      );
    });
    if (!response.ok)
      throw new ConfigError(`iso_checksum: ${where} answered HTTP ${response.status}`, { key: "source.iso_checksum" });
    return response.text();
  }
  const path = resolveLocal(where.replace(/^file:\/\//, ""));
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new ConfigError(`iso_checksum: cannot read checksum file ${path}`, { key: "source.iso_checksum" });
  }
}

/** The line for `fileName` in a checksum list, if any. */
export function findInChecksumList(text: string, fileName: string): Checksum | undefined {
  for (const line of text.split(/\r?\n/)) {
    const gnu = /^([0-9a-fA-F]+)\s+\*?(.+)$/.exec(line.trim());
    const bsd = /^(MD5|SHA1|SHA256|SHA512)\s*\((.+)\)\s*=\s*([0-9a-fA-F]+)$/.exec(line.trim());
    if (gnu && basename(gnu[2] as string) === fileName) return parseChecksum(gnu[1] as string);
    if (bsd && basename(bsd[2] as string) === fileName)
      return parseChecksum(`${(bsd[1] as string).toLowerCase()}:${bsd[3] as string}`);
  }
  return undefined;
}
