// Packer decodes options "weakly": "2" is 2 where an option takes a number and "true" is
// true where it takes a bool. JSON templates depend on it (their variables are strings:
// "cpus": "{{user `cpus`}}"), and so do HCL2 ones ("${var.cpus}" with text around it).
import type { OptionTable, OptionType } from "../../core/options.js";

/** The table with strings converted where the option takes integers or booleans. */
export function weaklyTyped(table: Record<string, unknown>, options: OptionTable | undefined): Record<string, unknown> {
  if (!options) return table;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(table)) out[key] = convert(value, options[key]?.type);
  return out;
}

function convert(value: unknown, type: OptionType | undefined): unknown {
  if (type === "integer" && typeof value === "string" && /^-?\d+$/.test(value.trim())) return Number(value);
  if (type === "integer[]" && Array.isArray(value)) return value.map((v) => convert(v, "integer"));
  if (type === "boolean" && (value === "true" || value === "false")) return value === "true";
  return value;
}
