// The boot test's options: `boot_test` and `boot_test_timeout` under `[source]`, and the
// `[[test]]` tables, the checks run in the finished image after it booted on its own.
import { checkTable, isFile, type Problem } from "../core/check-options.js";
import type { ConfigOf, OptionTable } from "../core/options.js";

/** `[source]` options of the boot test. */
export const BOOT_TEST_OPTIONS = {
  boot_test: {
    type: "boolean",
    default: true,
    doc: "After compaction, boot the finished disk on its own (a throwaway overlay: no ISO, no boot command, no HTTP server), log in over SSH and run the minimal checks (SSH answers, `/` is mounted read-write) and every `[[test]]`. Post-processors (uploads, notifications) run only when every check passed. `false` skips it. A `disk_image` build whose login came from a seed CD (cloud-init NoCloud) gets a fresh seed with a new temporary key; a build with `ssh_password` or `ssh_private_key_file` logs in with those.",
    packer: "none (Packer never boots what it built)",
  },
  boot_test_timeout: {
    type: "duration",
    defaultDoc: "`ssh_timeout`",
    doc: "How long the boot test waits for the image to boot and answer SSH. Default: as long as the build waited for SSH (`ssh_timeout`).",
    packer: "none",
  },
} as const satisfies OptionTable;

/** One `[[test]]`. */
export const TEST_OPTIONS = {
  name: { type: "string", doc: "Shown in the log and in a failure. Default: `test N`.", packer: "none" },
  inline: {
    type: "string[]",
    doc: "Commands run as one `/bin/sh -e` script in the booted image. Exactly one of `inline`, `script`.",
    packer: "none (like the shell provisioner's `inline`)",
  },
  script: {
    type: "path",
    doc: "A local script, relative to the template, uploaded to /tmp and run.",
    packer: "none (like the shell provisioner's `script`)",
  },
  valid_exit_codes: { type: "integer[]", default: [0], doc: "Exit codes that pass.", packer: "none" },
  expect_output: {
    type: "string",
    doc: "The standard output must contain this text.",
    packer: "none",
  },
  expect_regex: {
    type: "string",
    doc: "The standard output must match this JavaScript regular expression (multi-line: `^` and `$` match at each line).",
    packer: "none",
  },
  timeout: { type: "duration", default: "1m", doc: "The check fails when it runs longer than this.", packer: "none" },
} as const satisfies OptionTable;

export type BootTestOptions = ConfigOf<typeof BOOT_TEST_OPTIONS>;
/** A checked `[[test]]`: `name` always set, durations in ms. */
export type TestConfig = ConfigOf<typeof TEST_OPTIONS, { name: string }>;

export const TEST_INTRO =
  "Checks run by the boot test (`boot_test`, under `[source]`) in the finished image, after it booted on its own. A check passes when its exit code is in `valid_exit_codes` and its output meets `expect_output` and `expect_regex`. A failing check fails the build before any post-processor runs, naming the check and showing its output.";

/** Checks one `[[test]]` table. */
export function checkTest(
  entry: Record<string, unknown>,
  path: (string | number)[],
  baseDir: string,
  problems: Problem[],
): TestConfig | undefined {
  const checked = checkTable(entry, TEST_OPTIONS, path, baseDir, problems);
  const given = ["inline", "script"].filter((k) => k in entry);
  if (given.length !== 1)
    problems.push({
      path,
      message: `test needs exactly one of inline, script${given.length ? `; got ${given.join(" and ")}` : ""}`,
    });
  if (typeof checked.script === "string" && !isFile(checked.script))
    problems.push({ path: [...path, "script"], message: `no such script ${checked.script}` });
  if (typeof checked.expect_regex === "string") {
    try {
      new RegExp(checked.expect_regex, "m");
    } catch (error) {
      problems.push({
        path: [...path, "expect_regex"],
        message: `expect_regex: not a valid regular expression (${(error as Error).message})`,
      });
    }
  }
  const index = Number(path[path.length - 1] ?? 0);
  return { ...checked, name: checked.name ?? `test ${index + 1}` };
}
