// Collects the inventory from the guest over the build's SSH session, before shutdown.
// Files are read over SFTP (no program in the guest needed: /var/lib/dpkg/status,
// /etc/os-release, /etc/passwd, /proc/net/tcp); programs are run only where there is no
// file to read (rpm's database, systemctl, uname). What cannot be collected becomes a
// warning with its reason, never a silent gap.
import type { SshSession } from "../communicator/ssh.js";
import {
  RPM_QUERY,
  parseApkInstalled,
  parseDpkgStatus,
  parseGroup,
  parseOsRelease,
  parsePasswd,
  parseProcNet,
  parseRpmQuery,
} from "./parse.js";
import type { Inventory, InventoryPackage, ListeningPort } from "./types.js";

/** What the inventory uses of the SSH session. */
type Guest = Pick<SshSession, "exec" | "readFile">;

/**
 * The session with at most `n` commands at once: each is a session (channel) of its own on
 * the connection, and hardened sshd configurations lower MaxSessions (CIS asks for 10 or
 * less; some use 4). The reads share the one SFTP session.
 */
function withCommandLimit(ssh: SshSession, n: number): Guest {
  let running = 0;
  const waiting: Array<() => void> = [];
  return {
    readFile: (path) => ssh.readFile(path),
    exec: async (command, onLine) => {
      while (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
      running++;
      try {
        return await ssh.exec(command, onLine);
      } finally {
        running--;
        waiting.shift()?.();
      }
    },
  };
}

/** Runs a command; its stdout when it exits 0, else undefined. */
async function output(ssh: Guest, command: string): Promise<string | undefined> {
  const lines: string[] = [];
  const result = await ssh.exec(command, (stream, line) => {
    if (stream === "stdout") lines.push(line);
  });
  return result.code === 0 ? lines.join("\n") : undefined;
}

/** A file's text, or undefined when it does not exist or cannot be read. */
async function read(ssh: Guest, path: string): Promise<string | undefined> {
  return ssh.readFile(path).then(
    (b) => b.toString("utf8"),
    () => undefined,
  );
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The inventory; `uploaded` are the remote paths the file provisioners wrote. Its parts are
 * asked for at once over the one connection (each is a round trip to a guest that may be
 * slow, as under TCG); each part keeps its own warnings, so their order does not vary.
 */
export async function collectInventory(session: SshSession, uploaded: string[]): Promise<Inventory> {
  const ssh = withCommandLimit(session, 2);
  const part = async <T>(what: string, fallback: T, get: (warnings: string[]) => Promise<T>) => {
    const warnings: string[] = [];
    try {
      return { value: await get(warnings), warnings };
    } catch (error) {
      return { value: fallback, warnings: [...warnings, `${what}: ${message(error)}`] };
    }
  };
  const readPart = (what: string, path: string) =>
    part(what, undefined, async (warnings) => {
      const text = await read(ssh, path);
      if (text === undefined) warnings.push(`${what}: ${path} cannot be read`);
      return text;
    });
  const parts = [
    readPart("os", "/etc/os-release"),
    part("kernel", undefined, async (warnings) => {
      const kernel = (await output(ssh, "uname -r"))?.trim();
      if (!kernel) warnings.push("kernel: uname -r failed");
      return kernel;
    }),
    part("packages", [], (warnings) => packagesOf(ssh, warnings)),
    part("services", [], (warnings) => servicesOf(ssh, warnings)),
    readPart("users", "/etc/passwd"),
    readPart("groups", "/etc/group"),
    part("ports", [], (warnings) => portsOf(ssh, warnings)),
    part("files", [], () => hashesOf(ssh, uploaded)),
  ] as const;
  const results = await Promise.all(parts);
  const [os, kernel, packages, services, passwd, group, ports, files] = results;
  return {
    os: os.value ? parseOsRelease(os.value) : {},
    ...(kernel.value ? { kernel: kernel.value } : {}),
    packages: packages.value,
    services: services.value,
    users: passwd.value ? parsePasswd(passwd.value) : [],
    groups: group.value ? parseGroup(group.value) : [],
    ports: ports.value,
    files: files.value,
    warnings: results.flatMap((r) => r.warnings),
  };
}

/** dpkg's status file, apk's database, or rpm's query, whichever the image has. */
async function packagesOf(ssh: Guest, warnings: string[]): Promise<InventoryPackage[]> {
  const dpkg = await read(ssh, "/var/lib/dpkg/status");
  if (dpkg !== undefined) return parseDpkgStatus(dpkg);
  const apk = await read(ssh, "/lib/apk/db/installed");
  if (apk !== undefined) return parseApkInstalled(apk);
  const rpm = await output(ssh, `command -v rpm >/dev/null && ${RPM_QUERY}`);
  if (rpm !== undefined) return parseRpmQuery(rpm);
  warnings.push("packages: no package database found (/var/lib/dpkg/status, /lib/apk/db/installed, rpm -qa)");
  return [];
}

/** systemd's enabled units, else OpenRC's default runlevel, else SysV's rc2.d/rc3.d start links. */
async function servicesOf(ssh: Guest, warnings: string[]): Promise<string[]> {
  const systemd = await output(
    ssh,
    "command -v systemctl >/dev/null && systemctl list-unit-files --state=enabled --no-legend --no-pager",
  );
  if (systemd !== undefined)
    return systemd
      .split("\n")
      .map((l) => l.trim().split(/\s+/)[0] ?? "")
      .filter(Boolean)
      .sort();
  const rc = await output(ssh, "ls /etc/runlevels/default 2>/dev/null || ls /etc/rc3.d /etc/rc2.d 2>/dev/null");
  const names = (rc ?? "")
    .split("\n")
    .map((l) => l.trim().replace(/^S\d+/, ""))
    .filter((l) => l && !l.endsWith(":") && l !== "README");
  if (names.length > 0) return [...new Set(names)].sort();
  warnings.push("services: no service manager found (systemd, OpenRC, SysV rc scripts)");
  return [];
}

/** Listening sockets from /proc/net (one command for the four files: a round trip each adds up). */
async function portsOf(ssh: Guest, warnings: string[]): Promise<ListeningPort[]> {
  const protocols = ["tcp", "tcp6", "udp", "udp6"] as const;
  // procfs files report size 0, which SFTP clients read as empty: cat reads them.
  const text = await output(
    ssh,
    protocols.map((p) => `echo '== ${p}'; cat /proc/net/${p} 2>/dev/null || echo '== unreadable'`).join("; "),
  );
  const sections = new Map<string, string>();
  let current: string | undefined;
  for (const line of (text ?? "").split("\n")) {
    const header = /^== (\S+)$/.exec(line)?.[1];
    if (header === "unreadable") {
      if (current) sections.delete(current);
      current = undefined;
    } else if (header) {
      current = header;
      sections.set(current, "");
    } else if (current) sections.set(current, `${sections.get(current)}${line}\n`);
  }
  if (!sections.has("tcp")) warnings.push("ports: /proc/net/tcp cannot be read");
  const out = protocols.flatMap((p) => (sections.has(p) ? parseProcNet(p, sections.get(p)!) : []));
  const key = (p: ListeningPort) => `${p.protocol} ${p.port.toString().padStart(5, "0")} ${p.address}`;
  return [...new Map(out.map((p) => [key(p), p])).values()].sort((a, b) => (key(a) < key(b) ? -1 : 1));
}

/** sha256 of each uploaded path (every file under it, for a directory). */
async function hashesOf(ssh: Guest, uploaded: string[]): Promise<Array<{ path: string; sha256: string }>> {
  if (uploaded.length === 0) return [];
  const quoted = uploaded.map((p) => `'${p.replace(/'/g, "'\\''")}'`).join(" ");
  const text = await output(ssh, `find ${quoted} -type f -exec sha256sum {} +`);
  if (text === undefined) throw new Error(`find/sha256sum failed on ${uploaded.join(", ")}`);
  return text
    .split("\n")
    .map((l) => /^([0-9a-f]{64})\s+\*?(.*)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ path: m[2]!, sha256: m[1]! }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}
