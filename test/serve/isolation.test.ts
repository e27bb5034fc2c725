// The build process serve starts (worker-client.ts, build-worker.ts): what it can see of
// serve. Its environment is built from nothing; with build_user (root runs these tests in
// CI) it runs as that user, without capabilities and unable to gain privileges. The full
// attack, a shell-local grepping for the token, is in test/e2e/serve-lifecycle.test.ts.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { BuildEvent } from "../../src/index.js";
import { isolatedBuild } from "../../src/serve/worker-client.js";
import { until } from "./helpers.js";

const ROOT = process.getuid?.() === 0;
const NOBODY = { name: "nobody", uid: 65534, gid: 65534 };
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

/** A server that accepts a request and never answers: the build waits in its ISO download. */
async function stallingServer(): Promise<string> {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => server.closeAllConnections());
  closers.push(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/tinyos.iso`;
}

/** The pid of the build process working in workDir. */
function workerPid(workDir: string): number | undefined {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmdline.includes("build-worker") && cmdline.includes(workDir) && !cmdline.startsWith("setpriv"))
        return Number(pid);
    } catch {
      // gone
    }
  }
  return undefined;
}

describe("the build process", () => {
  it(`has none of serve's environment${ROOT ? ", runs as build_user without capabilities," : ""} and stops on cancel`, async () => {
    const canary = `serve-only-${Math.random().toString(36).slice(2)}`;
    process.env.TSIMG_TEST_CANARY = canary;
    closers.push(() => delete process.env.TSIMG_TEST_CANARY);
    const workDir = mkdtempSync(join(tmpdir(), "tsimg-isolated-"));
    mkdirSync(join(workDir, "repo/images"), { recursive: true });
    const template = join(workDir, "repo/images/tinyos.toml");
    writeFileSync(
      template,
      `[image]\nname = "tinyos"\n[source]\niso_url = "${await stallingServer()}"\niso_checksum = "sha256:${"0".repeat(64)}"\nssh_username = "root"\n`,
    );
    const controller = new AbortController();
    const events: BuildEvent[] = [];
    const result = isolatedBuild({
      templatePath: template,
      workDir,
      signal: controller.signal,
      onEvent: (e) => events.push(e),
      addSecrets: () => {},
      setScreenshotSource: () => {},
      sandbox: {
        ...(ROOT ? { user: NOBODY } : {}),
        env: { http_proxy: "http://proxy.example:3128" },
        cacheDir: join(workDir, "cache"),
      },
    });
    const pid = await until(() => workerPid(workDir), 20_000, "the build process");
    await until(
      () => events.some((e) => e.type === "step-start" && e.step === "fetch-iso"),
      20_000,
      "the ISO download",
    );

    const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
    expect(environ.join("\n")).not.toContain(canary);
    const names = environ.map((v) => v.slice(0, v.indexOf("="))).sort();
    const allowed = [
      "HOME",
      "LANG",
      "LC_ALL",
      "LOGNAME",
      "PATH",
      "TMPDIR",
      "TSIMG_CACHE_DIR",
      "TZ",
      "USER",
      "http_proxy",
    ];
    expect(names.filter((n) => !allowed.includes(n))).toEqual([]);
    expect(environ).toContain(`HOME=${workDir}`);
    expect(environ).toContain("http_proxy=http://proxy.example:3128");

    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1];
    expect(field("NoNewPrivs")).toBe("1");
    if (ROOT) {
      expect(field("Uid")!.split(/\s+/)).toEqual(["65534", "65534", "65534", "65534"]);
      expect(field("Gid")!.split(/\s+/)).toEqual(["65534", "65534", "65534", "65534"]);
      for (const caps of ["CapInh", "CapPrm", "CapEff", "CapAmb"]) expect(field(caps)).toMatch(/^0+$/);
    }

    controller.abort("superseded");
    const output = await result;
    expect(output).toMatchObject({ ok: false, cancelled: true });
    expect(workerPid(workDir)).toBeUndefined();
  }, 60_000);

  it("asking a build process that is ending for a screenshot does not crash serve (EPIPE)", async () => {
    const workDir = mkdtempSync(join(tmpdir(), "tsimg-isolated-"));
    mkdirSync(join(workDir, "repo/images"), { recursive: true });
    const template = join(workDir, "repo/images/tinyos.toml");
    writeFileSync(template, "[image]\nname = 1\n"); // refused at once: the process ends while being asked
    let take: (() => Promise<Buffer>) | undefined;
    let ended = false;
    const result = isolatedBuild({
      templatePath: template,
      workDir,
      signal: new AbortController().signal,
      onEvent: () => {},
      addSecrets: () => {},
      setScreenshotSource: (t) => (take = t),
      sandbox: { env: {}, cacheDir: join(workDir, "cache") },
    }).finally(() => (ended = true));
    // The dashboard asks every few seconds; here without pause, so some request meets the closed pipe.
    while (!ended) {
      for (let i = 0; i < 50; i++) take?.().catch(() => undefined);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await result).toMatchObject({ ok: false, cancelled: false });
  }, 60_000);
});
