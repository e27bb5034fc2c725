// Renders docs/reference.md from the components' option tables, so the reference always
// lists exactly what the code accepts. `npm run docs` writes it; a test checks it is current.
import type { OptionTable, OptionType } from "../core/options.js";
import { BUILD_VALUES, REFUSED_BUILD_VALUES } from "../core/runtime-vars.js";
import type { FamilySchema, ListSchema } from "./registry.js";
import { VARIABLE_OPTIONS } from "./variables.js";

type DocFamily = Pick<FamilySchema<unknown>, "types" | "heading" | "intros">;

/** The tables the reference is made from: a ComponentRegistry is one. */
export interface ReferenceTables {
  source: { options: OptionTable };
  provisioners: DocFamily;
  postProcessors: DocFamily;
  tests?: Pick<ListSchema<unknown>, "options" | "intro">;
}

/** The whole reference page, as Markdown. */
export function renderReference(tables: ReferenceTables): string {
  return [
    "# Template reference",
    "",
    "<!-- Generated from src/template/schema.ts by `npm run docs`. Edit the schema, not this file. -->",
    "",
    "A template is one TOML file per image, or a Packer template as it is: an HCL2 file (`*.pkr.hcl`) or folder, or a legacy JSON template (see [migrating from Packer](migrating-from-packer.md), which also says how Packer's option names map to the ones below). In a TOML template, paths are relative to the template file; `output_directory` is relative to the current directory, as in Packer.",
    'Strings may use `${var.name}`, `${env("NAME")}`, `${file("path")}` and `${timestamp()}` (resolved when the template loads).',
    "`boot_command`, `qemuargs` and provisioner `environment_vars` may also use `{{ .HTTPIP }}`, `{{ .HTTPPort }}`, `{{ .Name }}`, `{{ .SSHHostPort }}` and `{{ .OutputDir }}` (resolved while the build runs).",
    "",
    `Every string of a provisioner or a post-processor may use Packer's build variables, written \`\`{{ build \`Host\` }}\`\` (in a Packer HCL2 template: \`\${build.Host}\`), filled in while the build runs, e.g. for a shell-local that runs Ansible against the VM: ${Object.entries(
      BUILD_VALUES,
    )
      .map(([name, what]) => `\`${name}\` (${what})`)
      .join(", ")}. \`SSHPrivateKey\` is refused: ${REFUSED_BUILD_VALUES.SSHPrivateKey}.`,
    "",
    "Sizes are MiB or a number with a unit (`512M`, `40G`). Durations are Go-style (`30s`, `5m`, `1h30m`, `500ms`).",
    "",
    "## `[image]`",
    "",
    "Free-form identity of the image: `name` (default: the template's file name without `.toml`), `version`, `os_type`, `os_version`, `purpose`, and any other keys. `name` names the build in every log line.",
    "",
    section(
      "`[variables.NAME]`",
      VARIABLE_OPTIONS,
      "Values come from, lowest first: `default`, `--var-file`, the environment (`TSIMG_VAR_NAME`, or Packer's `PKR_VAR_NAME`), `--var NAME=value`.",
    ),
    section("`[source]`: the qemu builder", tables.source.options),
    ...familySections("provisioner", tables.provisioners),
    ...familySections("post_processor", tables.postProcessors),
    ...(tables.tests
      ? [section("`[[test]]`: checks of the finished image", tables.tests.options, tables.tests.intro)]
      : []),
  ].join("\n");
}

function familySections(table: string, family: DocFamily): string[] {
  const sections = Object.entries(family.types).map(([type, options]) =>
    section(`\`[[${table}]]\` with \`type = "${type}"\``, options, family.intros?.[type]),
  );
  return [...(family.heading === undefined ? [] : [family.heading]), ...sections];
}

function section(title: string, table: OptionTable, intro?: string): string {
  const rows = Object.entries(table).map(
    ([name, spec]) =>
      `| \`${name}\` | ${typeName(spec.type)} | ${spec.required ? "**required**" : defaultText(spec.default, spec.defaultDoc)} | ${cell(spec.doc)} | ${cell(spec.packer)} |`,
  );
  return [
    `## ${title}`,
    "",
    ...(intro ? [intro, ""] : []),
    "| option | type | default | meaning | Packer |",
    "|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}

function typeName(type: OptionType): string {
  return typeof type === "object" ? type.enum.map((e) => `\`${e}\``).join(" \\| ") : type;
}

function defaultText(value: unknown, doc: string | undefined): string {
  if (doc) return doc;
  if (value === undefined) return "none";
  return `\`${JSON.stringify(value)}\``;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}
