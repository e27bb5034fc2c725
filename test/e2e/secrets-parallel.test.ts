// Done-when 4 and 5 of the templates issue: a sensitive value never appears in console
// output, the log file, --json events or inspect, in any of its forms (plain, URL-encoded,
// base64, each line of a multi-line value); and --parallel 2 builds two templates at
// once with every line attributed to its build.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeProject, requireFixture, runCli } from "./helpers.js";

const TOKEN = "Tok3n+Se/cret=42";
const TOKEN_FORMS = [TOKEN, encodeURIComponent(TOKEN), Buffer.from(TOKEN).toString("base64")];
const MULTI = ["first-line-secret", "second-line-secret"];

/** The example, renamed, with two sensitive variables that reach the boot command, the guest and a provisioner. */
function secretProject(name: string) {
  return makeProject((t) =>
    t
      .replace('name = "tinyos"', `name = "${name}"`)
      .replace(
        "[source]\n",
        `[variables.token]\ndefault = "${TOKEN}"\nsensitive = true\n\n[variables.multi]\ndefault = "${MULTI.join("\\n")}"\nsensitive = true\n\n[source]\n`,
      )
      .replace(
        "inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks/tinyos.ks<enter>",
        "inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks/tinyos.ks token=${var.token}<enter>",
      )
      .replace(
        'environment_vars = ["IMAGE_VERSION=1.0.0"]',
        `environment_vars = ["IMAGE_VERSION=1.0.0", "TOKEN=\${var.token}", "MULTI=\${var.multi}"]\n\n[[provisioner]]\ntype = "shell"\ninline = [\n  "echo raw: $TOKEN",\n  "printf 'b64: %s\\\\n' \\"$(printf %s \\"$TOKEN\\" | base64)\\"",\n  "echo url: $(printf %s \\"$TOKEN\\" | sed 's/+/%2B/g; s#/#%2F#g; s/=/%3D/g')",\n  "echo \\"$MULTI\\"",\n  "cat /proc/cmdline",\n]\nenvironment_vars = ["TOKEN=\${var.token}", "MULTI=\${var.multi}"]`,
      ),
  );
}

function expectNoSecret(text: string, where: string) {
  for (const form of [...TOKEN_FORMS, ...MULTI]) expect(text.includes(form), `${where} contains ${form}`).toBe(false);
}

describe("secrets and --parallel", () => {
  beforeAll(requireFixture);

  it("two builds at once, lines attributed, secrets masked on the console and in the log file", async () => {
    const a = secretProject("tiny-a");
    const b = secretProject("tiny-b");
    const logFile = join(a.dir, "build.log");
    const { code, output } = await runCli([
      "build",
      "--parallel",
      "2",
      "--debug",
      "--log-file",
      logFile,
      a.template,
      b.template,
    ]).done;
    expect(code, output).toBe(0);
    for (const name of ["tiny-a", "tiny-b"]) {
      expect(output).toContain(`==> Build '${name}' finished`);
      expect(output).toMatch(new RegExp(`==> ${name}: Waiting for SSH\\.\\.\\.`));
    }
    // Interleaved: the second build started before the first finished.
    const lines = output.split("\n");
    expect(lines.findIndex((l) => l.includes("==> tiny-b: Starting VM"))).toBeLessThan(
      lines.findIndex((l) => l.includes("Build 'tiny-a' finished")),
    );
    // Every build line names its build.
    for (const line of lines.filter((l) => / (==>| {3}) \S+: /.test(l) && /^\d/.test(l)))
      expect(line).toMatch(/ (==>| {3}) tiny-[ab]: /);
    // The secrets did travel: the guest printed them, masked.
    expect(output).toContain("raw: <sensitive>");
    expect(output).toContain("b64: <sensitive>");
    expect(output).toContain("url: <sensitive>");
    expect(output).toMatch(/token=<sensitive>/);
    expectNoSecret(output, "console output");
    const log = readFileSync(logFile, "utf8");
    expect(log).toContain("raw: <sensitive>");
    expectNoSecret(log, "log file");
  }, 600_000);

  it("--json events and inspect never carry a secret", async () => {
    const project = secretProject("tiny-json");
    const json = await runCli(["build", "--json", project.template]).done;
    expect(json.code, json.output).toBe(0);
    const events = json.output
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { type: string; line?: string });
    expect(events.some((e) => e.type === "output" && e.line === "raw: <sensitive>")).toBe(true);
    expectNoSecret(json.output, "--json events");

    for (const args of [
      ["inspect", project.template],
      ["inspect", "--json", project.template],
    ]) {
      const inspect = await runCli(args).done;
      expect(inspect.code).toBe(0);
      expect(inspect.output).toContain("<sensitive>");
      expectNoSecret(inspect.output, args.join(" "));
    }
  }, 600_000);
});
