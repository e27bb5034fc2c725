// Help texts are accurate: every flag a help text lists is accepted by its command, every
// flag a command accepts is in its help text and in docs/cli.md.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { HELP } from "../../src/cli/help.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const CLI = `${ROOT}dist/cli/main.js`;
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
const flagsIn = (text: string) => [
  ...new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map((m) => m[1] as string)),
];

describe("CLI help", () => {
  beforeAll(() => {
    execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: ROOT });
  }, 180_000); // tsc takes about 12 s on an idle 2-core machine: room for a loaded one

  it.each(["build", "validate", "inspect", "import", "screenshot", "serve"])(
    "tsimg %s --help prints its help and exits 0",
    (command) => {
      const result = run(command, "--help");
      expect(result.status).toBe(0);
      expect(result.stdout.trim()).toBe(HELP[command]);
      expect(run("help", command).stdout.trim()).toBe(HELP[command]);
    },
  );

  it.each(["build", "validate", "inspect", "import", "screenshot"])(
    "every flag in `tsimg %s --help` is accepted and documented in docs/cli.md",
    (command) => {
      const docs = readFileSync(`${ROOT}docs/cli.md`, "utf8");
      for (const flag of flagsIn(HELP[command] as string).filter((f) => f !== "help")) {
        // An unknown flag is a usage error naming it; a known one gets past parsing.
        const result = run(
          command,
          `--${flag}${["var", "var-file", "only", "except", "parallel", "log-file", "on-error", "output"].includes(flag) ? "=x" : ""}`,
          "--help",
        );
        expect(result.stderr, `${command} --${flag}`).not.toMatch(/Unknown option/);
        expect(docs, `docs/cli.md mentions --${flag}`).toContain(`--${flag}`);
      }
    },
  );

  it("an unknown flag is one line, exit 2, pointing at the help", () => {
    const result = run("build", "--frce", "images/tinyos.toml");
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^Error: Unknown option '--frce'.*Run "tsimg build --help"\.$/m);
  });

  it("tsimg --help lists every command, and tsimg version prints the package version", () => {
    const main = run("--help").stdout;
    for (const command of ["build", "validate", "inspect", "import", "screenshot", "serve", "version", "help"])
      expect(main).toContain(`tsimg ${command}`);
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { version: string };
    expect(run("version").stdout.trim()).toBe(`tsimg ${pkg.version}`);
  });
});
