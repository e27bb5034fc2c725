import { describe, expect, it } from "vitest";
import type { Problem } from "../../src/core/check-options.js";
import { checkTest } from "../../src/checks/options.js";
import { judge } from "../../src/checks/run.js";

const check = (extra: Record<string, unknown>) => {
  const problems: Problem[] = [];
  const config = checkTest({ inline: ["true"], ...extra }, ["test", 1], "/", problems);
  return { config, problems: problems.map((p) => p.message) };
};

describe("[[test]] options", () => {
  it("defaults: a name from its position, exit code 0, one minute", () => {
    expect(check({}).config).toMatchObject({ name: "test 2", valid_exit_codes: [0], timeout: 60_000 });
  });

  it("exactly one of inline and script; a bad regex is named", () => {
    expect(check({ script: "/etc/hostname" }).problems).toEqual([
      "test needs exactly one of inline, script; got inline and script",
    ]);
    expect(check({ expect_regex: "(" }).problems[0]).toMatch(/^expect_regex: not a valid regular expression/);
  });
});

describe("judge", () => {
  const base = check({ expect_output: "ready", expect_regex: "^port=\\d+$" }).config!;
  it("passes when the exit code, the text and the pattern all match", () => {
    expect(judge(base, 0, "ready\nport=22")).toBeUndefined();
  });
  it("names what failed", () => {
    expect(judge(base, 1, "ready\nport=22")).toBe("exited with code 1 (valid_exit_codes: 0)");
    expect(judge(base, 0, "port=22")).toBe('its output does not contain "ready" (expect_output)');
    expect(judge(base, 0, "ready\nport=x")).toBe("its output does not match /^port=\\d+$/ (expect_regex)");
    expect(judge(base, undefined, "")).toBe("the SSH connection closed before the check finished");
  });
});
