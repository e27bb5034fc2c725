// The keys of a build's layers (docs/cache.md). Layer 0 is the OS install: everything in
// [source] that can change what ends up in the guest, with every file named replaced by a
// hash of its contents and the ISO by its sha256. Layer n is provisioner n: its parent's
// key, its options, and the contents of the files it uploads or runs. Both carry tsimg's and
// QEMU's versions. Left out: time, random names, host paths, options that only concern the
// host side (ports, output names, timeouts) or what happens after the last layer
// (shutdown, compaction). Secrets enter as HMACs keyed by the cache's own salt, so a key
// printed in a log says nothing about a password.
import { createHash, createHmac } from "node:crypto";
import { stat } from "node:fs/promises";
import type { OptionTable } from "../core/options.js";
import { PROVISIONER_TABLES } from "../provisioners/options.js";
import { sha256File } from "../util/hash-file.js";
import { hashDirectory } from "./inputs.js";
import type { BuildPlan, ProvisionerConfig } from "./plan.js";
import { SOURCE_OPTIONS } from "./registry.js";

/** [source] options that change nothing inside the guest, or act only after the last layer. */
const SOURCE_IGNORED = new Set([
  "output_directory",
  "vm_name",
  "format",
  "skip_compaction",
  "disk_compression",
  "headless",
  "display",
  "use_default_display",
  "vnc_bind_address",
  "vnc_port_min",
  "vnc_port_max",
  "disable_vnc",
  "host_port_min",
  "host_port_max",
  "http_bind_address",
  "http_port_min",
  "http_port_max",
  "http_request_timeout",
  "boot_screenshots",
  "boot_command_retries",
  "ssh_timeout",
  "ssh_handshake_attempts",
  "ssh_keep_alive_interval",
  "ssh_read_write_timeout",
  "shutdown_command",
  "shutdown_timeout",
  "efi_drop_efivars",
  "iso_url",
  "iso_urls",
  "iso_checksum",
  // The cache's own settings (its directory's contents change with every layer), and the boot test after the last layer.
  "layer_cache",
  "layer_cache_dir",
  "layer_cache_size",
  "boot_test",
  "boot_test_timeout",
]);

/** Provisioner options that change when or how often it runs, not what it leaves. */
const PROVISIONER_IGNORED = new Set([
  "pause_before",
  "pause_after",
  "max_retries",
  "timeout",
  "cache",
  "only",
  "except",
]);

export interface LayerKeyInputs {
  /** The ISO's (or base disk's) sha256, as fetch-iso verified it. */
  isoSha256: string;
  /** `qemu --version` and `qemu-img --version` first lines, and tsimg's version. */
  versions: Record<string, string>;
  /** The cache's salt: secrets enter keys only as HMACs with it. */
  salt: string;
  /** Makes layers from a `cache = false` provisioner on unique to this build. */
  nonce: string;
  signal?: AbortSignal;
}

/** One layer of the chain: its key, what it is, and whether a later build may reuse it. */
export interface LayerKey {
  index: number;
  key: string;
  title: string;
  /** False from the first `cache = false` provisioner on. */
  reusable: boolean;
}

/** The key of every layer: the install, then each provisioner this build runs. */
export async function layerKeys(plan: BuildPlan, inputs: LayerKeyInputs): Promise<LayerKey[]> {
  const clean = sanitizer(plan, inputs.salt);
  const source = await describeOptions(plan.source, SOURCE_OPTIONS, SOURCE_IGNORED, inputs.signal);
  let parent = hash({ layer: "install", versions: inputs.versions, iso: inputs.isoSha256, source: clean(source) });
  const keys: LayerKey[] = [{ index: 0, key: parent, title: "install", reusable: true }];
  let reusable = true;
  for (const [i, provisioner] of plan.provisioners.entries()) {
    const table = PROVISIONER_TABLES[provisioner.type] as OptionTable;
    const described = {
      ...(await describeOptions(provisioner, table, PROVISIONER_IGNORED, inputs.signal)),
      ...(await uploadedFiles(provisioner, inputs.signal)),
    };
    if (provisioner.cache === false) reusable = false;
    parent = hash({
      parent,
      provisioner: clean(described),
      ...(reusable ? {} : { nonce: inputs.nonce }),
    });
    keys.push({ index: i + 1, key: parent, title: `provisioner ${i + 1}: ${provisioner.type}`, reusable });
  }
  return keys;
}

/** The options of a table, path options replaced by their contents' hashes. */
async function describeOptions(
  config: object,
  table: OptionTable,
  ignored: Set<string>,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config)) {
    if (ignored.has(name) || value === undefined) continue;
    const type = table[name]?.type;
    if (type === "path" && typeof value === "string") out[name] = await contentHash(value, signal);
    else if (type === "path[]" && Array.isArray(value))
      out[name] = await Promise.all(value.map((v: string) => contentHash(v, signal)));
    else out[name] = value;
  }
  return out;
}

/** A file provisioner's upload sources are plain strings (a download's is remote): hash them here. */
async function uploadedFiles(p: ProvisionerConfig, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (p.type !== "file" || p.direction === "download") return {};
  if (p.sources) return { sources: await Promise.all(p.sources.map((s) => contentHash(s, signal))) };
  if (p.source !== undefined) return { source: await contentHash(p.source, signal) };
  return {};
}

/** sha256 of a file, or of a directory's sorted listing of paths and file hashes; "missing" when absent. */
async function contentHash(path: string, signal?: AbortSignal): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return "missing";
  // A directory uploaded with a trailing "/" (its contents) differs from one without.
  if (info.isDirectory()) return `dir${path.endsWith("/") ? "/" : ""}:${hash(await hashDirectory(path, signal))}`;
  return `file:${await sha256File(path, signal)}`;
}

/**
 * Makes key material free of host paths and secrets: the template's directory becomes
 * "<template>", and each secret an HMAC with the cache's salt.
 */
function sanitizer(plan: BuildPlan, salt: string): (value: unknown) => unknown {
  const secrets = plan.secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  const clean = (value: unknown): unknown => {
    if (typeof value === "string") {
      let text = value.split(plan.templateDir).join("<template>");
      for (const secret of secrets)
        text = text.split(secret).join(`<secret:${createHmac("sha256", salt).update(secret).digest("hex")}>`);
      return text;
    }
    if (Array.isArray(value)) return value.map(clean);
    if (value && typeof value === "object")
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, clean(v)]));
    return value;
  };
  return clean;
}

/** sha256 of the value's JSON with every object's keys sorted. */
function hash(value: unknown): string {
  return createHash("sha256").update(canonical(value)).digest("hex");
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
