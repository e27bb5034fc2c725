import { describe, expect, test } from "vitest";
import { HclExpressionError } from "../../../src/template/packer/hcl/ast.js";
import { evaluate, type Scope } from "../../../src/template/packer/hcl/evaluate.js";
import { parseExpression, parseTemplate } from "../../../src/template/packer/hcl/parse.js";

const scope: Scope = {
  names: {
    var: {
      name: "rocky",
      n: 3,
      list: ["a", "b", ""],
      map: { k: "v", j: "w" },
      flag: true,
      disks: [{ size: 1 }, { size: 2 }],
    },
    local: { x: "X" },
  },
  functions: { upper: ([s]) => String(s).toUpperCase(), count: (args) => args.length },
};
const expr = (text: string) => evaluate(parseExpression(text), scope);
const tpl = (text: string) => evaluate(parseTemplate(text), scope);

describe("HCL expressions", () => {
  test.each([
    ["1 + 2 * 3", 7],
    ["(1 + 2) * 3", 9],
    ["-var.n + 10", 7],
    ["10 / 4", 2.5],
    ["7 % 4", 3],
    ["var.n >= 3 && !false", true],
    ["var.n < 3 || var.flag", true],
    ['var.name == "rocky" ? "yes" : "no"', "yes"],
    ['"${var.name}-${var.n}"', "rocky-3"],
    ["var.list[1]", "b"],
    ['var.map["k"]', "v"],
    ["var.map.j", "w"],
    ["var.list.0", "a"],
    ['[for s in var.list : upper(s) if s != ""]', ["A", "B"]],
    ["{for k, v in var.map : v => k}", { v: "k", w: "j" }],
    ['{for s in ["a", "b", "a"] : s => s...}', { a: ["a", "a"], b: ["b"] }],
    ["var.disks[*].size", [1, 2]],
    ["var.disks.*.size", [1, 2]],
    ['{ a = 1, "b c" = [true, null], (local.x) = 2 }', { a: 1, "b c": [true, null], X: 2 }],
    ['count("x", var.list...)', 4],
    ["count(var.name...)", undefined],
    ['upper("é\\u00e9\\n")', "ÉÉ\n"],
    ["1 == 1.0", true],
    ['"5" + 1', 6],
  ])("%s", (text, want) => {
    if (want === undefined) expect(() => expr(text)).toThrow(HclExpressionError);
    else expect(expr(text)).toEqual(want);
  });

  test("string templates: interpolation, directives, escapes, strip markers", () => {
    expect(tpl("plain $${not} %%{nor}")).toBe("plain ${not} %{nor}");
    expect(tpl("${var.list}")).toEqual(["a", "b", ""]); // a lone interpolation keeps its type
    expect(tpl("%{ if var.flag }on%{ else }off%{ endif }")).toBe("on");
    expect(tpl("%{ for i, s in var.list }${i}=${s};%{ endfor }")).toBe("0=a;1=b;2=;");
    expect(tpl("a   ${~ var.name ~}   b")).toBe("arockyb");
    expect(tpl("%{ for s in var.list ~}\n  ${s}\n%{~ endfor }")).toBe("ab");
  });

  test("errors name the problem", () => {
    expect(() => expr("var.nam")).toThrow('var has no "nam"; did you mean "name"?');
    expect(() => expr("locl.x")).toThrow('unknown name "locl"; did you mean "local"?');
    const withBuild = { ...scope, names: { ...scope.names, build: { name: "b" } } };
    // Outside provisioners and post-processors (hcl-build gives those the placeholders).
    expect(() => evaluate(parseExpression("build.ID"), withBuild)).toThrow(
      'build has no "ID" (build.ID is known only while the build runs: provisioners and post-processors can use it)',
    );
    expect(() => evaluate(parseExpression("build.SSHPrivateKey"), withBuild)).toThrow(
      /build has no "SSHPrivateKey" \(build.SSHPrivateKey tsimg never hands out the build's private key/,
    );
    expect(() => expr("uper(1)")).toThrow('unknown function "uper()"; did you mean "upper()"?');
    expect(() => expr("var.list[5]")).toThrow("index out of range");
    expect(() => tpl("${var.list}x")).toThrow("a string template needs a string, got a list");
    expect(() => tpl("%{ if var.flag }x")).toThrow('"%{ if }" without its "%{ endif }"');
    expect(() => expr("1 +")).toThrow("expected an expression");
    expect(() => expr('"abc')).toThrow("unterminated string");
  });
});
