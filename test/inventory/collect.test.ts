// collectInventory over a stand-in for the SSH session: commands run in this host's real
// /bin/sh and files are read from a directory standing for the guest's root, so the
// parts, their sections and their warnings are checked against real command output.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { SshSession } from "../../src/communicator/ssh.js";
import { collectInventory } from "../../src/inventory/collect.js";

const root = mkdtempSync(join(tmpdir(), "tsimg-inventory-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function guestFile(path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

/** The two calls collectInventory makes; `rewrite` changes a command before the shell runs it. */
function session(rewrite: (command: string) => string = (c) => c) {
  const commands: string[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const ssh = {
    exec: (command: string, onLine: (stream: "stdout" | "stderr", line: string) => void) => {
      commands.push(command);
      mostAtOnce = Math.max(mostAtOnce, ++running);
      return new Promise((resolve) => {
        execFile("/bin/sh", ["-c", rewrite(command)], (error, stdout) => {
          running--;
          for (const line of stdout.split("\n").slice(0, -1)) onLine("stdout", line);
          resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0 });
        });
      });
    },
    readFile: async (path: string) => readFileSync(join(root, path)),
  } as unknown as SshSession;
  return { ssh, commands, mostAtOnce: () => mostAtOnce };
}

describe("collectInventory", () => {
  guestFile("/etc/os-release", 'ID=tinyos\nPRETTY_NAME="tinyos 1"\n');
  guestFile("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  guestFile("/etc/group", "root:x:0:\n");
  guestFile(
    "/var/lib/dpkg/status",
    "Package: hello\nStatus: install ok installed\nVersion: 2.10-3\nArchitecture: amd64\n",
  );

  it("asks for every part at once, and reads the four /proc/net files in one command", async () => {
    const { ssh, commands, mostAtOnce } = session();
    const inventory = await collectInventory(ssh, []);
    expect(inventory.os).toEqual({ ID: "tinyos", PRETTY_NAME: "tinyos 1" });
    expect(inventory.packages).toEqual([{ name: "hello", version: "2.10-3", arch: "amd64", manager: "dpkg" }]);
    expect(inventory.users.map((u) => u.name)).toEqual(["root"]);
    expect(inventory.kernel).toMatch(/^\d+\.\d+/);
    expect(commands.filter((c) => c.includes("/proc/net/"))).toHaveLength(1);
    // At once, but at most two commands (sessions) at a time: hardened sshd configs lower MaxSessions.
    expect(mostAtOnce()).toBe(2);
    // This host's own listening sockets, as the guest's would be: parsed from every section.
    if (readFileSync("/proc/net/tcp", "utf8").includes(" 0A "))
      expect(inventory.ports.some((p) => p.protocol === "tcp")).toBe(true);
  });

  it("a part that cannot be read is a warning, in the same order however the answers arrive", async () => {
    rmSync(join(root, "etc/group"));
    const slowKernel = session((c) => (c === "uname -r" ? "sleep 0.3; exit 1" : c));
    const first = await collectInventory(slowKernel.ssh, []);
    const slowGroups = session((c) =>
      c.includes("/proc/net/") ? c.replace(/cat \/proc\/net\/tcp /, "cat /nonexistent ") : c,
    );
    const second = await collectInventory(slowGroups.ssh, []);
    expect(first.warnings.slice(0, 2)).toEqual(["kernel: uname -r failed", "groups: /etc/group cannot be read"]);
    expect(second.warnings).toContain("ports: /proc/net/tcp cannot be read");
    expect(second.warnings.indexOf("groups: /etc/group cannot be read")).toBeLessThan(
      second.warnings.indexOf("ports: /proc/net/tcp cannot be read"),
    );
    guestFile("/etc/group", "root:x:0:\n");
  });
});
