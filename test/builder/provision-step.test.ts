// The provision step's per-provisioner options (pause_before, max_retries, timeout,
// only/except). The step is real; the SSH session around it is a stand-in that runs
// "remote" commands by a script, so failures and hangs can be staged exactly.
import { describe, expect, test } from "vitest";
import { provision, skipReason } from "../../src/builder/steps/provision.js";
import { EventBus } from "../../src/core/event-bus.js";
import { Masker } from "../../src/core/masker.js";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProvisionerConfig, ShellProvisionerConfig } from "../../src/provisioners/options.js";
import type { BuildPlan } from "../../src/builder/plan.js";
import { stepContext } from "./step-context.js";

function shell(overrides: Partial<ShellProvisionerConfig>): ShellProvisionerConfig {
  return {
    type: "shell",
    inline: ["true"],
    inline_shebang: "/bin/sh -e",
    environment_vars: [],
    execute_command: "{{ .Path }}",
    remote_folder: "/tmp",
    valid_exit_codes: [0],
    expect_disconnect: false,
    pause_before: 0,
    pause_after: 0,
    max_retries: 0,
    timeout: 0,
    ...overrides,
  };
}

/** A session whose n-th script run ends as `outcomes[n]` says: an exit code, or "hang". */
function stubSession(outcomes: (number | "hang")[]) {
  let runs = 0;
  let closed = 0;
  return {
    get runs() {
      return runs;
    },
    get closed() {
      return closed;
    },
    writeFile: async () => undefined,
    close: () => void closed++,
    exec: (command: string) => {
      if (command.startsWith("rm -f")) return Promise.resolve({ code: 0 });
      const outcome = outcomes[runs++] ?? 0;
      return outcome === "hang" ? new Promise(() => undefined) : Promise.resolve({ code: outcome });
    },
  };
}

async function run(provisioners: ProvisionerConfig[], session: ReturnType<typeof stubSession>, templateDir = tmpdir()) {
  const messages: string[] = [];
  const events = new EventBus("tinyos", new Masker());
  events.on((e) => e.type === "log" && messages.push(`${e.level}: ${e.message}`));
  events.on((e) => e.type === "output" && messages.push(`> ${e.line}`));
  // After a failed attempt the step drops the session and reconnects: the proxy keeps
  // handing it the same stand-in instead.
  const plan = {
    image: { name: "tinyos" },
    templateDir,
    provisioners,
    source: { ssh_clear_authorized_keys: false },
  } as unknown as BuildPlan;
  const ssh = new Proxy({ session }, { deleteProperty: () => true });
  const input = {
    ssh,
    sshHostPort: 2345,
    guest: { resets: 0, expectingExit: false },
    http: { port: 8123 },
  } as unknown as Parameters<typeof provision.run>[1];
  const error = await provision.run(stepContext(plan, { events }), input, undefined).then(
    () => undefined,
    (e: Error) => e,
  );
  return { error, messages };
}

describe("provision step options", () => {
  test("max_retries runs a failing provisioner again, logging each failure, until it succeeds", async () => {
    const session = stubSession([1, 1, 0]);
    const { error, messages } = await run([shell({ max_retries: 2 })], session);
    expect(error).toBeUndefined();
    expect(session.runs).toBe(3);
    expect(messages.filter((m) => m.startsWith("warn:"))).toEqual([
      "warn: provisioner 1/1: shell failed (inline script exited with code 1 (valid_exit_codes: 0)); retry 1 of 2 (max_retries)",
      "warn: provisioner 1/1: shell failed (inline script exited with code 1 (valid_exit_codes: 0)); retry 2 of 2 (max_retries)",
    ]);
  });

  test("without retries left, the failure fails the step", async () => {
    const session = stubSession([1, 3]);
    const { error } = await run([shell({ max_retries: 1 })], session);
    expect(error?.message).toBe("inline script exited with code 3 (valid_exit_codes: 0)");
    expect(session.runs).toBe(2);
  });

  test("timeout fails an attempt that runs too long; a retry may still succeed", async () => {
    const session = stubSession(["hang", 0]);
    const { error, messages } = await run([shell({ timeout: 200, max_retries: 1 })], session);
    expect(error).toBeUndefined();
    expect(messages).toContain(
      "warn: provisioner 1/1: shell failed (provisioner 1/1: shell: still running after 200ms (timeout)); retry 1 of 1 (max_retries)",
    );
  });

  test("timeout without retries fails the build with a timeout error", async () => {
    const { error } = await run([shell({ timeout: 100 })], stubSession(["hang"]));
    expect(error?.message).toBe("provisioner 1/1: shell: still running after 100ms (timeout)");
  });

  test("pause_before waits before the provisioner runs", async () => {
    const t0 = Date.now();
    const { messages } = await run([shell({ pause_before: 300 })], stubSession([0]));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(messages).toContain("info: pause_before: waiting 300ms");
  });

  test("pause_after waits after the provisioner succeeded, before the next one", async () => {
    const session = stubSession([0, 0]);
    const t0 = Date.now();
    const { messages } = await run([shell({ pause_after: 300 }), shell({})], session);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const at = (m: string) => messages.indexOf(m);
    expect(at("info: pause_after: waiting 300ms")).toBeGreaterThan(at("info: provisioner 1/2: shell"));
    expect(at("info: pause_after: waiting 300ms")).toBeLessThan(at("info: provisioner 2/2: shell"));
    expect(session.runs).toBe(2);
  });

  test("pause_after does not wait after a failure", async () => {
    const t0 = Date.now();
    const { error, messages } = await run([shell({ pause_after: 5000 })], stubSession([1]));
    expect(error).toBeDefined();
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(messages).not.toContain("info: pause_after: waiting 5s");
  });

  test("only/except leave provisioners out, by image name or Packer's qemu.<name>", async () => {
    const session = stubSession([0, 0]);
    const { messages } = await run(
      [shell({ only: ["other"] }), shell({ only: ["qemu.tinyos"] }), shell({ except: ["tinyos"] }), shell({})],
      session,
    );
    expect(session.runs).toBe(2);
    expect(messages).toContain('info: provisioner 1/4: shell: skipped (only = ["other"])');
    expect(messages).toContain('info: provisioner 3/4: shell: skipped (except = ["tinyos"])');
    expect(skipReason({ pause_before: 0, max_retries: 0, timeout: 0 }, "tinyos")).toBeUndefined();
  });

  test("shell-local runs on the build host, in the template's directory, with the build's environment", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsimg-local-"));
    const session = stubSession([]);
    const local: ProvisionerConfig = {
      type: "shell-local",
      inline: ['echo "$PACKER_BUILD_NAME on $TSIMG_SSH_HOST_PORT" > made-here.txt', "echo $GREETING from the host"],
      inline_shebang: "/bin/sh -e",
      environment_vars: ["GREETING=hello"],
      valid_exit_codes: [0],
      pause_before: 0,
      max_retries: 0,
      timeout: 0,
    };
    const { error, messages } = await run([local], session, dir);
    expect(error).toBeUndefined();
    expect(session.runs).toBe(0); // nothing ran in the guest
    expect(readFileSync(join(dir, "made-here.txt"), "utf8")).toBe("tinyos on 2345\n");
    expect(messages).toContain("> hello from the host");
    const failing = await run([{ ...local, inline: ["exit 4"] }], session, dir);
    expect(failing.error?.message).toBe("shell-local: inline script exited with code 4 (valid_exit_codes: 0)");
  });
});
