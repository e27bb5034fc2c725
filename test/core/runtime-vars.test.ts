import { describe, expect, test } from "vitest";
import { TsimgError } from "../../src/core/errors.js";
import { renderRuntime } from "../../src/core/runtime-vars.js";

const values = { HTTPIP: "10.0.2.2", HTTPPort: "8123", Name: "rocky9.qcow2" };

describe("renderRuntime", () => {
  test.each([
    ["one key", "{{ .HTTPIP }}", "10.0.2.2"],
    [
      "keys inside text",
      "inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks/rocky9.ks",
      "inst.ks=http://10.0.2.2:8123/ks/rocky9.ks",
    ],
    ["no spaces", "{{.Name}}", "rocky9.qcow2"],
    ["a key used twice", "{{ .Name }}/{{ .Name }}", "rocky9.qcow2/rocky9.qcow2"],
    ["no placeholders", "plain -m 4096", "plain -m 4096"],
    ["a load-time expression, left alone", "${var.x} {{ .HTTPPort }}", "${var.x} 8123"],
  ])("fills in %s", (_, text, expected) => {
    expect(renderRuntime(text, values, "boot_command")).toBe(expected);
  });

  test("an unknown key is an error naming where, the key and the known keys", () => {
    const render = () => renderRuntime("http://{{ .HTTPIP }}:{{ .HTTPPrt }}/", values, "boot_command");
    expect(render).toThrow(TsimgError);
    expect(render).toThrow(
      new TsimgError(
        'boot_command: unknown placeholder "{{ .HTTPPrt }}"; known here: {{ .HTTPIP }}, {{ .HTTPPort }}, {{ .Name }}',
      ),
    );
  });

  test("keys are case-sensitive", () => {
    expect(() => renderRuntime("{{ .httpip }}", { HTTPIP: "10.0.2.2" }, "qemuargs")).toThrow(
      new TsimgError('qemuargs: unknown placeholder "{{ .httpip }}"; known here: {{ .HTTPIP }}'),
    );
  });
});
