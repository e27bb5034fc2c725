import { describe, expect, test } from "vitest";
import { TsimgError } from "../../src/core/errors.js";
import { BUILD_VALUES, buildPlaceholder, renderBuildValues, renderRuntime } from "../../src/core/runtime-vars.js";

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

describe("renderBuildValues", () => {
  const values = {
    ...(Object.fromEntries(Object.keys(BUILD_VALUES).map((k) => [k, `<${k}>`])) as Record<
      keyof typeof BUILD_VALUES,
      string
    >),
    Host: "127.0.0.1",
    Port: "40022",
  };

  test("fills in Packer's written form, in every string of a config, deeply", () => {
    const config = {
      type: "shell-local",
      inline: ["ansible-playbook -i '{{ build `Host` }},' -e ansible_port={{build `Port`}} site.yml"],
      environment_vars: [`RUN=${buildPlaceholder("PackerRunUUID")}`],
      nested: { list: [[`${buildPlaceholder("User")}@${buildPlaceholder("Host")}`]] },
      timeout: 0,
      expect_disconnect: false,
    };
    expect(renderBuildValues(config, values, "provisioner 1/1: shell-local")).toEqual({
      ...config,
      inline: ["ansible-playbook -i '127.0.0.1,' -e ansible_port=40022 site.yml"],
      environment_vars: ["RUN=<PackerRunUUID>"],
      nested: { list: [["<User>@127.0.0.1"]] },
    });
  });

  test("leaves other Go-template text alone: docker's {{.ID}}, {{ .HTTPIP }}", () => {
    const text = "docker ps --format '{{.ID}} {{ .Names }}' {{ .HTTPIP }}";
    expect(renderBuildValues(text, values, "x")).toBe(text);
  });

  test("a refused or unknown build variable is an error naming where and why", () => {
    expect(() => renderBuildValues(["{{ build `SSHPrivateKey` }}"], values, "post-processor")).toThrow(
      /^post-processor: build.SSHPrivateKey tsimg never hands out the build's private key/,
    );
    expect(() => renderBuildValues("{{ build `Hots` }}", values, "post-processor")).toThrow(
      "post-processor: build.Hots is not a build variable; tsimg fills in ID, Host, Port, User, Password, ConnType, PackerRunUUID, PackerHTTPIP, PackerHTTPPort, PackerHTTPAddr, SSHPublicKey",
    );
  });
});
