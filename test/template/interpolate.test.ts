import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { InterpolationError, interpolate, type InterpolationScope } from "../../src/template/interpolate.js";

const dir = mkdtempSync(join(tmpdir(), "tsimg-interpolate-"));
writeFileSync(join(dir, "ks.cfg"), "rootpw secret\nreboot\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scope: InterpolationScope = {
  variables: new Map([
    ["root_password", "hunter2"],
    ["version", "1.2.3"],
  ]),
  baseDir: dir,
  env: { HOME: "/home/builder", "ODD}NAME": "odd", 'QUOTE"}NAME': "quoted" },
  now: new Date("2024-05-06T07:08:09.123Z"),
};

describe("interpolate", () => {
  test.each([
    ["text without expressions", "plain text", "plain text"],
    ["a variable", "pw=${var.root_password}", "pw=hunter2"],
    ["a variable with spaces inside the braces", "${ var.version }", "1.2.3"],
    ["two expressions", "${var.version}-${var.root_password}", "1.2.3-hunter2"],
    ["env()", '${env("HOME")}/.ssh', "/home/builder/.ssh"],
    ["env() of an unset variable", '[${env("NOT_SET")}]', "[]"],
    ["a } inside a quoted argument", '${env("ODD}NAME")}', "odd"],
    ["an escaped quote inside a quoted argument", '${env("QUOTE\\"}NAME")}', "quoted"],
    ["file() relative to baseDir", '${file("ks.cfg")}', "rootpw secret\nreboot\n"],
    ["file() with an absolute path", `\${file("${join(dir, "ks.cfg")}")}`, "rootpw secret\nreboot\n"],
    ["timestamp(), without fractions of a second", "build-${timestamp()}", "build-2024-05-06T07:08:09Z"],
    ["timestamp( ) with a space", "${timestamp( )}", "2024-05-06T07:08:09Z"],
    [
      "a run-time placeholder, left alone",
      "http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks",
      "http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks",
    ],
    ["a run-time placeholder next to a variable", "{{ .Name }}-${var.version}", "{{ .Name }}-1.2.3"],
    ["a lone $", "cost: $5 {not an expression}", "cost: $5 {not an expression}"],
  ])("%s", (_, text, expected) => {
    expect(interpolate(text, scope)).toBe(expected);
  });

  test.each([
    [
      "an unknown variable near a known one",
      "${var.root_pasword}",
      'unknown variable "var.root_pasword"; did you mean "var.root_password"?',
    ],
    ["an unknown variable near none", "${var.kickstart}", 'unknown variable "var.kickstart"'],
    [
      "an unknown function near a known one",
      '${envv("HOME")}',
      'unknown function "envv()"; did you mean "env()"?; tsimg knows env(), file(), timestamp()',
    ],
    [
      "an unknown function near none",
      '${upper("x")}',
      'unknown function "upper()"; tsimg knows env(), file(), timestamp()',
    ],
    [
      "an unquoted argument",
      "${env(HOME)}",
      'cannot understand the arguments of "${env(HOME)}": use double-quoted strings',
    ],
    [
      "single quotes",
      "${env('HOME')}",
      `cannot understand the arguments of "\${env('HOME')}": use double-quoted strings`,
    ],
    ["too many arguments", '${env("A", "B")}', "env() takes 1 argument, got 2"],
    ["too few arguments", "${file()}", "file() takes 1 argument, got 0"],
    ["an argument to timestamp()", '${timestamp("UTC")}', "timestamp() takes 0 arguments, got 1"],
    ["a missing file", '${file("nope.ks")}', `file("nope.ks"): no such file ${join(dir, "nope.ks")}`],
    ["neither variable nor call", "${1 + 2}", 'cannot understand "${1 + 2}": expected var.NAME or a function call'],
    ["a bare name", "${root_password}", 'cannot understand "${root_password}": expected var.NAME or a function call'],
    ["an unclosed expression", "a ${var.version", 'unclosed "${" in "a ${var.version"'],
  ])("%s is an error", (_, text, message) => {
    expect(() => interpolate(text, scope)).toThrow(InterpolationError);
    expect(() => interpolate(text, scope)).toThrow(new InterpolationError(message));
  });
});

test('"$${" is a literal "${", as in HCL (tsimg import writes it for text that holds "${")', () => {
  const scope = { variables: new Map([["a", "A"]]), baseDir: "/", env: {}, now: new Date() };
  expect(interpolate("echo $${HOME} ${var.a} $$${var.a}", scope)).toBe("echo ${HOME} A $${var.a}");
});
