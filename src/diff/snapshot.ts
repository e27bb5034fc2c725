// What `tsimg diff` compares, read from a manifest (its last build, or the one named), a
// CycloneDX SBOM tsimg wrote, or an output directory holding either. A manifest gives the
// inventory, inputs and lineage; an SBOM gives the inventory only.
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { TsimgError } from "../core/errors.js";

export interface SnapshotPackage {
  name: string;
  version: string;
  arch?: string;
}

/** One side of a diff. Lists are of display strings, except packages. */
export interface Snapshot {
  /** Where it came from, for headings. */
  label: string;
  packages?: SnapshotPackage[];
  os?: Record<string, string>;
  kernel?: string;
  services?: string[];
  users?: string[];
  groups?: string[];
  ports?: string[];
  files?: string[];
  inputs?: Record<string, unknown>;
  lineage?: Record<string, unknown> | null;
  /** The template's directory, to find input files for a unified diff. */
  templateDir?: string;
}

/** Reads one side: a manifest, an SBOM or an output directory. */
export async function readSnapshot(path: string, buildName?: string): Promise<Snapshot> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new TsimgError(`tsimg diff: ${path} does not exist`);
  if (info.isDirectory()) return readDirectory(path, buildName);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new TsimgError(`tsimg diff: ${path} is not JSON (${(error as Error).message})`);
  }
  return fromJson(json, path, buildName);
}

/** A snapshot from parsed JSON (a manifest, a manifest entry or an SBOM). */
export function fromJson(json: unknown, label: string, buildName?: string): Snapshot {
  const doc = json as Record<string, unknown>;
  if (doc.bomFormat === "CycloneDX") return fromSbom(doc, label);
  if (Array.isArray(doc.builds)) {
    const builds = doc.builds as Record<string, unknown>[];
    const entry = buildName ? builds.filter((b) => b.name === buildName).pop() : builds[builds.length - 1];
    if (!entry) throw new TsimgError(`tsimg diff: ${label} has no build${buildName ? ` named "${buildName}"` : "s"}`);
    return fromEntry(entry, label);
  }
  if (doc.builder_type === "qemu") return fromEntry(doc, label);
  throw new TsimgError(`tsimg diff: ${label} is neither a tsimg manifest nor a CycloneDX SBOM`);
}

function fromEntry(entry: Record<string, unknown>, label: string): Snapshot {
  const inv = (entry.inventory ?? {}) as Record<string, unknown>;
  const list = <T>(key: string, show: (item: T) => string) =>
    Array.isArray(inv[key]) ? (inv[key] as T[]).map(show).sort() : undefined;
  const templatePath = typeof entry.template_path === "string" ? entry.template_path : undefined;
  return {
    label,
    ...(Array.isArray(inv.packages) ? { packages: inv.packages as SnapshotPackage[] } : {}),
    ...(inv.os ? { os: inv.os as Record<string, string> } : {}),
    ...(typeof inv.kernel === "string" ? { kernel: inv.kernel } : {}),
    ...optional(
      "services",
      list<string>("services", (s) => s),
    ),
    ...optional("users", list<{ name: string; uid: number; shell: string }>("users", userText)),
    ...optional("groups", list<{ name: string; gid: number; members: string[] }>("groups", groupText)),
    ...optional("ports", list<{ protocol: string; address: string; port: number }>("ports", portText)),
    ...optional(
      "files",
      list<{ path: string; sha256: string }>("files", (f) => `${f.path} sha256:${f.sha256}`),
    ),
    inputs: (entry.inputs ?? {}) as Record<string, unknown>,
    lineage: (entry.lineage ?? null) as Record<string, unknown> | null,
    ...(templatePath ? { templateDir: dirname(templatePath) } : {}),
  };
}

function fromSbom(bom: Record<string, unknown>, label: string): Snapshot {
  const components = (bom.components ?? []) as Array<{ name: string; version?: string; purl?: string }>;
  const meta = ((bom.metadata as Record<string, unknown> | undefined)?.component ?? {}) as {
    properties?: Array<{ name: string; value: string }>;
  };
  const props = meta.properties ?? [];
  const values = (name: string) =>
    props
      .filter((p) => p.name === name)
      .map((p) => p.value)
      .sort();
  const os = Object.fromEntries(
    props.filter((p) => p.name.startsWith("tsimg:os:")).map((p) => [p.name.slice("tsimg:os:".length), p.value]),
  );
  const kernel = values("tsimg:kernel")[0];
  return {
    label,
    packages: components.map((c) => {
      const arch = /[?&]arch=([^&]+)/.exec(c.purl ?? "")?.[1];
      return { name: c.name, version: c.version ?? "", ...(arch ? { arch: decodeURIComponent(arch) } : {}) };
    }),
    os,
    ...(kernel ? { kernel } : {}),
    services: values("tsimg:service"),
    users: values("tsimg:user").map((u) => {
      const [name, uid, , , shell] = u.split(":");
      return userText({ name: name!, uid: Number(uid), shell: shell ?? "" });
    }),
    groups: values("tsimg:group").map((g) => {
      const [name, gid, members] = g.split(":");
      return groupText({ name: name!, gid: Number(gid), members: (members ?? "").split(",").filter(Boolean) });
    }),
    ports: values("tsimg:port").map((p) => {
      const [protocol, ...rest] = p.split(":");
      const port = rest.pop();
      return portText({ protocol: protocol!, address: rest.join(":"), port: Number(port) });
    }),
    files: values("tsimg:file").map((f) => {
      const m = /^sha256:([0-9a-f]+):(.*)$/.exec(f);
      return m ? `${m[2]} sha256:${m[1]}` : f;
    }),
  };
}

/** An output directory: its manifest (a JSON file with `builds`) when there is one, else its SBOM. */
async function readDirectory(dir: string, buildName?: string): Promise<Snapshot> {
  const names = (await readdir(dir)).sort();
  for (const name of names.filter((n) => n.endsWith(".json") && !n.endsWith(".cdx.json"))) {
    const json = await readFile(join(dir, name), "utf8")
      .then((t) => JSON.parse(t) as Record<string, unknown>)
      .catch(() => undefined);
    if (json && Array.isArray(json.builds)) return fromJson(json, join(dir, name), buildName);
  }
  const sbom = names.find((n) => n.endsWith(".cdx.json"));
  if (sbom) return readSnapshot(join(dir, sbom));
  throw new TsimgError(`tsimg diff: ${resolve(dir)} holds neither a manifest nor a *.cdx.json SBOM`);
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

const userText = (u: { name: string; uid: number; shell: string }) => `${u.name} (uid ${u.uid}, ${u.shell})`;
const groupText = (g: { name: string; gid: number; members: string[] }) =>
  `${g.name} (gid ${g.gid}${g.members.length ? `: ${g.members.join(",")}` : ""})`;
const portText = (p: { protocol: string; address: string; port: number }) => `${p.protocol} ${p.address}:${p.port}`;
