// The SBOM tsimg writes is CycloneDX 1.6 that validates against the schema, made from a
// real package database: this host's /var/lib/dpkg/status, written by dpkg.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseDpkgStatus } from "../../src/inventory/parse.js";
import { renderSbom } from "../../src/inventory/sbom.js";
import type { Inventory } from "../../src/inventory/types.js";
import { cycloneDxErrors } from "./cyclonedx-schema.js";

const packages = parseDpkgStatus(readFileSync("/var/lib/dpkg/status", "utf8"));
const inventory: Inventory = {
  os: { ID: "debian", VERSION_ID: "12", PRETTY_NAME: "Debian GNU/Linux 12 (bookworm)" },
  kernel: "6.1.0-57-cloud-amd64",
  packages,
  services: ["ssh.service"],
  users: [{ name: "root", uid: 0, gid: 0, home: "/root", shell: "/bin/sh" }],
  groups: [{ name: "root", gid: 0, members: [] }],
  ports: [{ protocol: "tcp6", address: "::", port: 22 }],
  files: [{ path: "/etc/motd", sha256: "a".repeat(64) }],
  warnings: [],
};
const subject = {
  name: "tinyos",
  version: "1.0.0",
  timestamp: 0,
  runUuid: "0b4c3d0e-1f2a-4b5c-8d6e-7f8091a2b3c4",
  tsimgVersion: "0.1.0",
};

describe("renderSbom", () => {
  it("validates against CycloneDX 1.6's JSON schema", () => {
    const doc = JSON.parse(renderSbom(inventory, subject));
    expect(doc.bomFormat).toBe("CycloneDX");
    expect(doc.specVersion).toBe("1.6");
    expect(cycloneDxErrors(doc)).toEqual([]);
  });

  it("the schema check can fail: a component without a name is reported", () => {
    const doc = JSON.parse(renderSbom(inventory, subject));
    delete doc.components[0].name;
    expect(cycloneDxErrors(doc).join("\n")).toContain("name");
  });

  it("lists exactly the packages dpkg-query reports, with deb purls", () => {
    const doc = JSON.parse(renderSbom(inventory, subject));
    const fromDpkg = execFileSync("dpkg-query", ["-W", "-f", "${db:Status-Abbrev} ${Package} ${Version}\\n"], {
      encoding: "utf8",
    })
      .split("\n")
      .filter((l) => l.startsWith("ii "))
      .map((l) => l.split(" ").slice(-2).join(" "))
      .sort();
    const inSbom = (doc.components as Array<{ name: string; version: string }>)
      .map((c) => `${c.name} ${c.version}`)
      .sort();
    expect([...new Set(inSbom)]).toEqual([...new Set(fromDpkg)]);
    const libc = doc.components.find((c: { name: string }) => c.name === "libc6");
    expect(libc.purl).toMatch(/^pkg:deb\/debian\/libc6@.*\?arch=amd64$/);
    expect(doc.metadata.component.properties).toEqual(
      expect.arrayContaining([
        { name: "tsimg:kernel", value: "6.1.0-57-cloud-amd64" },
        { name: "tsimg:port", value: "tcp6::::22" },
        { name: "tsimg:service", value: "ssh.service" },
      ]),
    );
  });
});
