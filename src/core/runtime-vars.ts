// Run-time placeholders in Packer's Go-template form: {{ .HTTPIP }}, {{ .HTTPPort }},
// {{ .Name }}, {{ .SSHHostPort }}, ... Filled in once the values exist (ports are picked
// at run time), in boot_command, qemuargs and provisioner settings.
import { TsimgError } from "./errors.js";

const PLACEHOLDER = /\{\{\s*\.(\w+)\s*\}\}/g;

/** Replaces {{ .Key }} with values[Key]; an unknown key is an error naming it and the known ones. */
export function renderRuntime(text: string, values: Record<string, string>, where: string): string {
  return text.replace(PLACEHOLDER, (_, key: string) => {
    const value = values[key];
    if (value === undefined) {
      throw new TsimgError(
        `${where}: unknown placeholder "{{ .${key} }}"; known here: ${Object.keys(values)
          .map((k) => `{{ .${k} }}`)
          .join(", ")}`,
      );
    }
    return value;
  });
}

// Packer's build variables ({{ build `Host` }} in JSON templates, ${build.Host} in HCL2): the
// running VM's connection and the build's run, for provisioners and post-processors, e.g. a
// shell-local that runs Ansible against the VM. They keep Packer's own written form in a
// loaded plan, so only that exact form is replaced: a `{{ .ID }}` in a docker --format stays.
const BUILD_PLACEHOLDER = /\{\{\s*build\s+`(\w+)`\s*\}\}/g;

/** The build variables tsimg fills in, and what each is. */
export const BUILD_VALUES = {
  ID: "the VM's name, `vm_name`",
  Host: "`127.0.0.1`, where the guest's SSH is forwarded on the host",
  Port: "the host port forwarded to the guest's SSH",
  User: "`ssh_username`",
  Password: "`ssh_password`, masked in every log",
  ConnType: "`ssh`",
  PackerRunUUID: "one per `tsimg build` run",
  PackerHTTPIP: "`10.0.2.2`, the HTTP server as the guest sees it",
  PackerHTTPPort: "the HTTP server's port",
  PackerHTTPAddr: "`PackerHTTPIP:PackerHTTPPort`",
  SSHPublicKey: "the temporary key's public half; empty with `ssh_password` or `ssh_private_key_file`",
} as const;

export type BuildValueName = keyof typeof BUILD_VALUES;

/** Build variables tsimg refuses, and why. */
export const REFUSED_BUILD_VALUES: Record<string, string> = {
  SSHPrivateKey:
    "tsimg never hands out the build's private key (nothing would mask it in logs): log in with ssh_password or your own ssh_private_key_file",
  WinRMPassword: "is for WinRM, which tsimg does not support",
};

/** Why a build variable cannot be used, or undefined if tsimg fills it in. */
export function buildValueProblem(name: string): string | undefined {
  if (name in BUILD_VALUES) return undefined;
  return `build.${name} ${REFUSED_BUILD_VALUES[name] ?? `is not a build variable; tsimg fills in ${Object.keys(BUILD_VALUES).join(", ")}`}`;
}

/** How a build variable is written in a loaded plan until the build fills it in. */
export function buildPlaceholder(name: BuildValueName): string {
  return `{{ build \`${name}\` }}`;
}

/** Replaces every {{ build `X` }} in the strings of `value` (deeply); an unknown X is an error naming `where`. */
export function renderBuildValues<T>(value: T, values: Record<BuildValueName, string>, where: string): T {
  if (typeof value === "string") {
    return value.replace(BUILD_PLACEHOLDER, (_, name: string) => {
      const problem = buildValueProblem(name);
      if (problem) throw new TsimgError(`${where}: ${problem}`);
      return values[name as BuildValueName];
    }) as T;
  }
  if (Array.isArray(value)) return value.map((item) => renderBuildValues(item, values, where)) as T;
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, renderBuildValues(item, values, where)]),
    ) as T;
  }
  return value;
}
