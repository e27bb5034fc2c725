import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  parseApkInstalled,
  parseDpkgStatus,
  parseGroup,
  parseOsRelease,
  parseProcNet,
  parseRpmQuery,
} from "../../src/inventory/parse.js";

describe("inventory parsers", () => {
  it("dpkg status: installed packages only, with version and arch (this host's real database)", () => {
    const text = readFileSync("/var/lib/dpkg/status", "utf8");
    const packages = parseDpkgStatus(text);
    expect(packages.find((p) => p.name === "dpkg")).toMatchObject({ manager: "dpkg", arch: "amd64" });
    const removed =
      "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: here\nStatus: install ok installed\nVersion: 2\nDescription: x\n more: text\n";
    expect(parseDpkgStatus(removed)).toEqual([{ name: "here", version: "2", manager: "dpkg" }]);
  });

  it("apk, rpm, os-release, group", () => {
    expect(parseApkInstalled("C:Q1x\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\n\nP:busybox\nV:1.36\n")).toEqual([
      { name: "busybox", version: "1.36", manager: "apk" },
      { name: "musl", version: "1.2.4-r2", arch: "x86_64", license: "MIT", manager: "apk" },
    ]);
    expect(parseRpmQuery("bash\t5.1.8-9.el9\tx86_64\tGPLv3+\ngpg-pubkey\t1-2\t(none)\tpubkey\n")).toEqual([
      { name: "bash", version: "5.1.8-9.el9", arch: "x86_64", license: "GPLv3+", manager: "rpm" },
    ]);
    expect(parseOsRelease('ID=rocky\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n')).toEqual({
      ID: "rocky",
      PRETTY_NAME: "Rocky Linux 9.4 (Blue Onyx)",
    });
    expect(parseGroup("wheel:x:10:bob,alice\n")).toEqual([{ name: "wheel", gid: 10, members: ["alice", "bob"] }]);
  });

  it("/proc/net: TCP listeners and bound UDP sockets, addresses decoded", () => {
    const tcp = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1",
      "   1: 0100007F:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2",
      "   2: 0F02000A:0016 0202000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 3",
    ].join("\n");
    expect(parseProcNet("tcp", tcp)).toEqual([
      { protocol: "tcp", address: "0.0.0.0", port: 22 },
      { protocol: "tcp", address: "127.0.0.1", port: 25 },
    ]);
    const tcp6 = "header\n   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A x";
    expect(parseProcNet("tcp6", tcp6)).toEqual([{ protocol: "tcp6", address: "::", port: 22 }]);
  });
});
