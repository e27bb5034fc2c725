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
