// Parsers for what the inventory reads from the guest: package databases, os-release,
// passwd/group and /proc/net. Pure functions over text, so they are tested on real files.
import type { InventoryGroup, InventoryPackage, InventoryUser, ListeningPort } from "./types.js";

/** /var/lib/dpkg/status: the packages whose Status is "install ok installed". */
export function parseDpkgStatus(text: string): InventoryPackage[] {
  const out: InventoryPackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split("\n")) {
      if (/^\s/.test(line)) continue; // a continuation line (Description's body)
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      fields.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const name = fields.get("package");
    const status = fields.get("status") ?? "";
    if (!name || !/\binstalled$/.test(status) || /config-files$/.test(status)) continue;
    out.push({
      name,
      version: fields.get("version") ?? "",
      ...(fields.get("architecture") ? { arch: fields.get("architecture")! } : {}),
      manager: "dpkg",
    });
  }
  return sortPackages(out);
}

/** apk's /lib/apk/db/installed: P: name, V: version, A: arch, L: license, one block per package. */
export function parseApkInstalled(text: string): InventoryPackage[] {
  const out: InventoryPackage[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const field = (key: string) =>
      block
        .split("\n")
        .find((l) => l.startsWith(`${key}:`))
        ?.slice(2);
    const name = field("P");
    if (!name) continue;
    const arch = field("A");
    const license = field("L");
    out.push({
      name,
      version: field("V") ?? "",
      ...(arch ? { arch } : {}),
      ...(license ? { license } : {}),
      manager: "apk",
    });
  }
  return sortPackages(out);
}

/** The query format RPM_QUERY prints: name, [epoch:]version-release, arch, license, tab-separated. */
export const RPM_QUERY = String.raw`rpm -qa --qf '%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{ARCH}\t%{LICENSE}\n'`;

export function parseRpmQuery(text: string): InventoryPackage[] {
  const out: InventoryPackage[] = [];
  for (const line of text.split("\n")) {
    const [name, version, arch, license] = line.split("\t");
    if (!name || version === undefined || name === "gpg-pubkey") continue;
    out.push({
      name,
      version,
      ...(arch && arch !== "(none)" ? { arch } : {}),
      ...(license && license !== "(none)" ? { license } : {}),
      manager: "rpm",
    });
  }
  return sortPackages(out);
}

/** KEY=value lines, values unquoted. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, "$2").replace(/\\(.)/g, "$1");
  }
  return out;
}

export function parsePasswd(text: string): InventoryUser[] {
  return text
    .split("\n")
    .map((l) => l.split(":"))
    .filter((f) => f.length >= 7 && f[0])
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! }))
    .sort((a, b) => a.uid - b.uid || a.name.localeCompare(b.name));
}

export function parseGroup(text: string): InventoryGroup[] {
  return text
    .split("\n")
    .map((l) => l.split(":"))
    .filter((f) => f.length >= 4 && f[0])
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(",").filter(Boolean).sort() }))
    .sort((a, b) => a.gid - b.gid || a.name.localeCompare(b.name));
}

/** /proc/net/{tcp,tcp6,udp,udp6}: TCP sockets in LISTEN (0A), UDP sockets bound (07). */
export function parseProcNet(protocol: ListeningPort["protocol"], text: string): ListeningPort[] {
  const out: ListeningPort[] = [];
  for (const line of text.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    const [local, , state] = [cols[1], cols[2], cols[3]];
    if (!local || !state) continue;
    if (protocol.startsWith("tcp") ? state !== "0A" : state !== "07") continue;
    const [hexAddr, hexPort] = local.split(":");
    out.push({ protocol, address: decodeAddress(hexAddr ?? ""), port: parseInt(hexPort ?? "0", 16) });
  }
  return out;
}

/** The kernel writes addresses as host-order (little-endian) 32-bit words in hex. */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // "::" for the all-zero address, the common case of a wildcard listener.
  return groups.every((g) => g === "0") ? "::" : groups.join(":");
}

export function sortPackages(list: InventoryPackage[]): InventoryPackage[] {
  return list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : 1));
}
