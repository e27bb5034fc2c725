// Runs the boot test's checks in the booted image: the minimal ones every image gets, then
// the template's `[[test]]` tables. Each check's output is kept, so a failure can show it.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { raceAbort, withTimeout } from "../core/abort.js";
import { TsimgError } from "../core/errors.js";
import type { SshSession } from "../communicator/ssh.js";
import type { TestConfig } from "./options.js";

/** What one check did. */
export interface CheckResult {
  name: string;
  passed: boolean;
  /** Why it failed, in words. */
  reason?: string;
  exitCode: number | undefined;
  output: string[];
}

/** The checks every boot test runs: SSH answered (we are in), and `/` is mounted read-write. */
export const MINIMAL_CHECKS: TestConfig[] = [
  {
    name: "root file system is mounted read-write",
    inline: [`awk '$2 == "/" && $1 != "rootfs" { print $4 }' /proc/mounts | tail -n 1 | cut -d, -f1`],
    expect_regex: "^rw$",
    valid_exit_codes: [0],
    timeout: 60_000,
  },
];

/** Runs one check; never throws for a failing check (only for a cancelled build). */
export async function runCheck(
  ssh: SshSession,
  check: TestConfig,
  signal: AbortSignal,
  onLine: (stream: "stdout" | "stderr", line: string) => void,
): Promise<CheckResult> {
  const output: string[] = [];
  const stdout: string[] = [];
  const remote = `/tmp/tsimg-check-${randomBytes(4).toString("hex")}`;
  const text = check.script ? await readFile(check.script) : `#!/bin/sh -e\n${(check.inline ?? []).join("\n")}\n`;
  await ssh.writeFile(remote, text, 0o755);
  let exitCode: number | undefined;
  try {
    const result = await raceAbort(
      withTimeout(
        ssh.exec(`${remote}; code=$?; rm -f ${remote}; exit $code`, (stream, line) => {
          output.push(stream === "stderr" ? `stderr: ${line}` : line);
          if (stream === "stdout") stdout.push(line);
          onLine(stream, line);
        }),
        check.timeout,
        `still running after ${check.timeout / 1000} s (timeout)`,
      ),
      signal,
    );
    exitCode = result.code;
  } catch (error) {
    if (signal.aborted) throw error;
    return { name: check.name, passed: false, reason: (error as Error).message, exitCode, output };
  }
  const reason = judge(check, exitCode, stdout.join("\n"));
  return { name: check.name, passed: reason === undefined, ...(reason ? { reason } : {}), exitCode, output };
}

/** Why the check failed, or undefined when it passed. */
export function judge(check: TestConfig, code: number | undefined, stdout: string): string | undefined {
  if (code === undefined) return "the SSH connection closed before the check finished";
  if (!check.valid_exit_codes.includes(code))
    return `exited with code ${code} (valid_exit_codes: ${check.valid_exit_codes.join(", ")})`;
  if (check.expect_output !== undefined && !stdout.includes(check.expect_output))
    return `its output does not contain ${JSON.stringify(check.expect_output)} (expect_output)`;
  if (check.expect_regex !== undefined && !new RegExp(check.expect_regex, "m").test(stdout))
    return `its output does not match /${check.expect_regex}/ (expect_regex)`;
  return undefined;
}

/** The error a failed check fails the build with: which check, why, and what it printed. */
export function checkFailure(result: CheckResult): TsimgError {
  const shown = result.output.slice(-20);
  return new TsimgError(`boot test: check "${result.name}" failed: ${result.reason ?? "failed"}`, {
    details: shown.length
      ? [`its output${result.output.length > shown.length ? " (last 20 lines)" : ""}:`, ...shown.map((l) => `  ${l}`)]
      : ["it printed nothing"],
  });
}
