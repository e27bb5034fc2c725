// `[source]` options of what a build reads before QEMU starts (the ISO and its checksum, the
// seed CD and floppy), the config types derived from them, and the checks a table cannot express.
import { isFile, resolvePath, type Problem } from "../core/check-options.js";
import type { ConfigOf, OptionTable } from "../core/options.js";
import { parseChecksum } from "./checksum.js";
import { matchCdFiles } from "./seed-media.js";

/** `[source]`: the installer ISO (or base disk) and its checksum. */
export const ISO_OPTIONS = {
  iso_url: {
    type: "string",
    computed: true,
    doc: "The installer ISO (with `disk_image`, the base disk): a path relative to the template, `file://...`, or `http(s)://...`. A URL is downloaded once into the cache (`$TSIMG_CACHE_DIR`, default `~/.cache/tsimg`), keyed by `iso_checksum`, tried up to 4 times (a pause of 0.5 s, then 1 s, 2 s while a try gets no bytes; a 4xx answer is not retried) and resumed with HTTP ranges when interrupted, verified, and only then used. A later build finds it there without any request and without hashing it again unless its size or mtime changed. Required unless `iso_urls` is given.",
    packer: "`iso_url` (Packer's cache is `./packer_cache`, and it re-hashes the ISO on every build)",
  },
  iso_urls: {
    type: "string[]",
    doc: "Several places for the ISO, tried in order: the first local file that exists or URL that downloads is used. Cannot be combined with `iso_url`.",
    packer: "`iso_urls`",
  },
  iso_checksum: {
    type: "string",
    required: true,
    doc: "Checksum of the ISO: `sha256:<hex>`, `sha512:<hex>`, `sha1:<hex>`, `md5:<hex>`, bare hex (type from its length), `file:<path or URL>` (a SHA256SUMS-style file, matched by the ISO's file name; a URL is fetched on every build), or `none` (warns). Checked before anything else starts; a mismatch shows both sums, and deletes nothing but a download in tsimg's cache.",
    packer: "`iso_checksum` (same forms)",
  },
} as const satisfies OptionTable;

/** `[source]`: the seed CD and floppy. */
export const MEDIA_OPTIONS = {
  cd_files: {
    type: "string[]",
    default: [],
    doc: "Files for a CD attached to the VM, relative to the template; globs allowed (`seed/*`). A file goes to the CD's root; a directory is copied with its name, or its contents when written with a trailing `/`. Built with xorriso (Rock Ridge and Joliet).",
    packer: "`cd_files`",
  },
  cd_content: {
    type: "table",
    doc: 'CD path -> file content, added to the same CD: `{ "meta-data" = "", "user-data" = """#cloud-config ...""" }`. `{{ .SSHPublicKey }}`, `{{ .HTTPIP }}` and `{{ .HTTPPort }}` are filled in.',
    packer: "`cd_content`",
  },
  floppy_files: {
    type: "string[]",
    default: [],
    doc: "Files for a 1.44 MB floppy attached as drive A (`-fda`), same rules as `cd_files`. Made with `mkfs.fat` and `mcopy` (Debian's dosfstools and mtools). For installers that read a kickstart or answer file from a floppy.",
    packer: "`floppy_files`",
  },
  floppy_content: {
    type: "table",
    doc: "Floppy path -> content, added to the same floppy; placeholders as in `cd_content`.",
    packer: "`floppy_content`",
  },
  floppy_label: {
    type: "string",
    default: "floppy",
    doc: "Volume label of the floppy (upper-cased, at most 11 characters).",
    packer: "`floppy_label`",
  },
  cd_label: {
    type: "string",
    doc: "Volume label of the CD: `cidata` for a cloud-init NoCloud seed. Default: xorriso's.",
    packer: "`cd_label`",
  },
} as const satisfies OptionTable;

/** The ISO options once checked: `iso_url` is the one to use, `iso_urls` every place to try. */
export type IsoConfig = ConfigOf<typeof ISO_OPTIONS>;
export type MediaConfig = ConfigOf<typeof MEDIA_OPTIONS>;

/**
 * Settles iso_url from iso_url or iso_urls (tried in order: the first local file that exists).
 * The ISO often lives outside the repo, so a missing one is a missing input: validate warns,
 * build refuses to start. `raw` is [source] as written.
 */
export function chooseIso(
  source: { iso_url?: string; iso_urls?: string[] },
  raw: Record<string, unknown>,
  baseDir: string,
  problems: Problem[],
): { iso_urls: string[]; iso_url: string } {
  const at = (key: string) => ["source", key];
  // What a template with a problem here keeps (it never becomes a plan).
  const unsettled = { iso_urls: source.iso_urls ?? [], iso_url: source.iso_url ?? "" };
  if (raw.iso_url !== undefined && raw.iso_urls !== undefined) {
    problems.push({ path: at("iso_urls"), message: "iso_url and iso_urls cannot both be set: pick one" });
    return unsettled;
  }
  const key = raw.iso_urls !== undefined ? "iso_urls" : "iso_url";
  const given =
    raw.iso_urls !== undefined ? (source.iso_urls ?? []) : source.iso_url !== undefined ? [source.iso_url] : [];
  if (raw.iso_url === undefined && raw.iso_urls === undefined) {
    problems.push({ path: ["source"], message: 'missing required key "iso_url" (or "iso_urls"): the installer ISO' });
    return unsettled;
  }
  if (given.length === 0) {
    problems.push({ path: at(key), message: "iso_urls: give at least one path" });
    return unsettled;
  }
  const unsupported = given.find((url) => /^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^(file|https?):\/\//i.test(url));
  if (unsupported) {
    problems.push({
      path: at(key),
      message: `${key}: ${unsupported}: only local paths, file://, http:// and https:// are supported`,
    });
    return unsettled;
  }
  const sources = given.map((url) => (/^https?:\/\//i.test(url) ? url : resolvePath(url, baseDir)));
  // Only local files can be checked now; a URL is tried at build time.
  if (sources.every((s) => !/^https?:\/\//i.test(s) && !isFile(s))) {
    problems.push({ path: at(key), message: `${key}: no such file ${sources.join(", ")}`, missingInput: true });
  }
  return { iso_urls: sources, iso_url: sources.find(isFile) ?? sources[0]! };
}

/** iso_checksum in one of its forms (a `file:` list is read at build time). */
export function checkChecksum(value: string | undefined, problems: Problem[]): void {
  if (value === undefined || value === "none" || value.startsWith("file:")) return;
  try {
    parseChecksum(value);
  } catch (error) {
    problems.push({ path: ["source", "iso_checksum"], message: (error as Error).message });
  }
}

/** cd_files patterns must match something: an empty seed CD is almost always a typo. */
export function checkMedia(
  source: { cd_files?: string[]; floppy_files?: string[] },
  baseDir: string,
  problems: Problem[],
): void {
  for (const key of ["cd_files", "floppy_files"] as const) {
    (source[key] ?? []).forEach((pattern, i) => {
      if (matchCdFiles([pattern], baseDir).length === 0)
        problems.push({
          path: ["source", key],
          message: `${key} item ${i + 1}: "${pattern}" matches no file or directory`,
        });
    });
  }
}
