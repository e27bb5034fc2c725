// Packer's HCL2 functions, each as Packer 1.9 answers (values from Packer's docs and cty's).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { evaluate } from "../../../src/template/packer/hcl/evaluate.js";
import { formatDate, goFormat } from "../../../src/template/packer/hcl/format.js";
import { packerFunctions } from "../../../src/template/packer/hcl/functions.js";
import { parseExpression } from "../../../src/template/packer/hcl/parse.js";

const dir = mkdtempSync(join(tmpdir(), "tsimg-hcl-fn-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, "ks.tpl"), "rootpw ${password}\n%{ for p in packages ~}\n${p}\n%{ endfor ~}\n");
writeFileSync(join(dir, "plain.txt"), "hello\n");

const functions = packerFunctions({ cwd: dir, now: new Date("2026-03-04T05:06:07Z"), env: { HOME: "/home/me" } });
const run = (text: string) => evaluate(parseExpression(text), { names: {}, functions });

describe("Packer's HCL2 functions", () => {
  test.each([
    ['file("plain.txt")', "hello\n"],
    ['templatefile("ks.tpl", { password = "pw", packages = ["vim", "curl"] })', "rootpw pw\nvim\ncurl\n"],
    ['basename("/a/b/c.iso")', "c.iso"],
    ['dirname("/a/b/c.iso")', "/a/b"],
    ['abspath("sub/x")', join(dir, "sub/x")],
    ["timestamp()", "2026-03-04T05:06:07Z"],
    ['formatdate("YYYY-MM-DD hh:mm", timestamp())', "2026-03-04 05:06"],
    ['env("HOME")', "/home/me"],
    ['join("-", ["a", "b"], ["c"])', "a-b-c"],
    ['split(",", "a,b,,c")', ["a", "b", "", "c"]],
    ['format("%s-%03d-%.2f-%v-%q", "x", 7, 3.14159, true, "y")', 'x-007-3.14-true-"y"'],
    ['lower("ÀB")', "àb"],
    ['upper("ab")', "AB"],
    ['replace("a-b-c", "-", "_")', "a_b_c"],
    ['replace("a1b22", "/[0-9]+/", "#")', "a#b#"],
    ['trimspace("  x \\n")', "x"],
    ['coalesce("", null, "z")', "z"],
    ['lookup({ a = 1 }, "b", 2)', 2],
    ["merge({ a = 1, b = 1 }, { b = 2 })", { a: 1, b: 2 }],
    ['concat(["a"], [], ["b"])', ["a", "b"]],
    ['length("héllo")', 5],
    ["length([1, 2])", 2],
    ['sha256("abc")', "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    ['base64encode("Hello")', "SGVsbG8="],
    ['can(regex("^[0-9]+$", "12a"))', false],
    ['try(lookup({}, "x"), "fallback")', "fallback"],
    ['substr("hello", 1, 3)', "ell"],
    ['trimsuffix("disk.qcow2", ".qcow2")', "disk"],
    ["keys({ b = 1, a = 2 })", ["a", "b"]],
    ["flatten([[1], [2, [3]]])", [1, 2, 3]],
    ["range(3)", [0, 1, 2]],
  ])("%s", (text, want) => {
    expect(run(text)).toEqual(want);
  });

  test("uuidv4 is a fresh version 4 UUID each time", () => {
    const a = run("uuidv4()");
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(run("uuidv4()")).not.toBe(a);
  });

  test("errors say what is wrong, with the path a relative file was looked for at", () => {
    expect(() => run('file("nope.txt")')).toThrow(`file(): "nope.txt": no such file ${join(dir, "nope.txt")}`);
    expect(() => run('lookup({}, "x")')).toThrow('no key "x" in the map');
    expect(() => run('join(",")')).toThrow("takes 2 to any number of arguments, got 1");
    expect(() => run('formatdate("YYYY", "yesterday")')).toThrow("is not an RFC 3339 timestamp");
  });

  test("format and formatdate follow Go and Terraform", () => {
    expect(goFormat("%-5s|%5s|%+d|%x|%%", ["ab", "cd", 3, 255])).toBe("ab   |   cd|+3|ff|%");
    expect(formatDate("EEE, DD MMM YYYY hh:mm:ss ZZZ 'o''clock'", "2026-03-04T17:06:07+02:00")).toBe(
      "Wed, 04 Mar 2026 17:06:07 +0200 o'clock",
    );
    expect(formatDate("h:mmaa", "2026-03-04T00:05:00Z")).toBe("0:05am");
  });
});
