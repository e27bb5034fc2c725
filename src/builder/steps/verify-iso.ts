import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { resolvePath } from "../../template/validate.js";
import { hashFile } from "../../util/hash-file.js";
import { ConfigError } from "../../errors.js";
import type { Step } from "../../engine/runner.js";
import type { QemuBuildState } from "../state.js";

const BY_LENGTH: Record<number, string> = { 32: "md5", 40: "sha1", 64: "sha256", 128: "sha512" };

/** Checks the ISO against iso_checksum before anything else is created. */
export const verifyIso: Step<QemuBuildState> = {
  name: "verify-iso",
  title: "Verifying the ISO checksum...",
  async run(ctx, state) {
    const { iso_url, iso_checksum } = state.plan.source;
    if (iso_checksum === "none") {
      ctx.events.warn('iso_checksum = "none": the ISO is not verified');
      return;
    }
    const [type, expected] = iso_checksum.startsWith("file:")
      ? await readChecksumFile(resolvePath(iso_checksum.slice("file:".length), state.plan.templateDir), iso_url)
      : parseChecksum(iso_checksum);
    // With post-processors, the manifest records the ISO's sha256: computed in the same read.
    const types = type !== "sha256" && state.plan.postProcessors.length > 0 ? [type, "sha256"] : [type];
    const digests = await hashFile(iso_url, types, { signal: ctx.signal });
    const actual = digests[type];
    if (digests.sha256 !== undefined && actual === expected) state.isoSha256 = digests.sha256;
    if (actual !== expected) {
      throw new ConfigError(`iso_checksum does not match ${iso_url}: expected ${type}:${expected}, got ${type}:${actual}`, { key: "source.iso_checksum" });
    }
    ctx.events.info(`${type} of ${iso_url} matches`);
  },
};

/** "sha256:abc" or bare hex -> [algorithm, lower-case hex]. */
export function parseChecksum(value: string): [string, string] {
  const match = /^(?:(md5|sha1|sha256|sha512):)?([0-9a-fA-F]+)$/.exec(value.trim());
  const type = match?.[1] ?? BY_LENGTH[match?.[2]?.length ?? 0];
  if (!match || !type) {
    throw new ConfigError(`iso_checksum "${value}" is not understood: use sha256:<hex>, sha512:<hex>, sha1:<hex>, md5:<hex>, bare hex, or none`, {
      key: "source.iso_checksum",
    });
  }
  return [type, (match[2] as string).toLowerCase()];
}

/** Finds the ISO's line in a SHA256SUMS-style file ("<hex>  name" or BSD "SHA256 (name) = <hex>"). */
async function readChecksumFile(path: string, iso: string): Promise<[string, string]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new ConfigError(`iso_checksum: cannot read checksum file ${path}`, { key: "source.iso_checksum" });
  }
  const name = basename(iso);
  for (const line of text.split(/\r?\n/)) {
    const gnu = /^([0-9a-fA-F]+)\s+\*?(.+)$/.exec(line.trim());
    const bsd = /^(MD5|SHA1|SHA256|SHA512)\s*\((.+)\)\s*=\s*([0-9a-fA-F]+)$/.exec(line.trim());
    if (gnu && basename(gnu[2] as string) === name) return parseChecksum(gnu[1] as string);
    if (bsd && basename(bsd[2] as string) === name) return [(bsd[1] as string).toLowerCase(), (bsd[3] as string).toLowerCase()];
  }
  throw new ConfigError(`iso_checksum: ${path} has no line for ${name}`, { key: "source.iso_checksum" });
}

