// The legacy Packer JSON front-end: "variables", "sensitive-variables", "builders",
// "provisioners" (only/except/override) and "post-processors" (a nested list is a chain)
// -> the TOML-shaped document the loader validates. Go-template functions ({{user `x`}}...)
// are resolved here (go-template.ts); relative paths resolve against the working directory,
// as in Packer; {{template_dir}} is the template's folder.
import { readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { ConfigError, ConfigErrors, SeveralBuildsError } from "../../core/errors.js";
import type { SourceLocation, TemplateDocument } from "../document.js";
import { decodeUtf8, describeBadUtf8, readTemplateBytes } from "../read-text.js";
import type { ResolvedVariable } from "../variables.js";
import { readEnvYaml } from "./env-yaml.js";
import { GoTemplateError, renderGoTemplate, type GoTemplateContext } from "./go-template.js";
import type { OptionTypes, PackerInputs } from "./inputs.js";
import { weaklyTyped } from "./weak-types.js";
import { jsonErrorAt, jsonPositions } from "./json-positions.js";
import { documentLocator, type Locations } from "./locations.js";
import { anchorOutput, mapPostProcessor, mapProvisioner, mapSource } from "./packer-options.js";
import { isChosen, matchesAny } from "./select.js";

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === "object" && v !== null && !Array.isArray(v);
const TOP_LEVEL = [
  "variables",
  "sensitive-variables",
  "builders",
  "provisioners",
  "post-processors",
  "description",
  "min_packer_version",
  "_comment",
];

export function readJsonDocument(
  path: string,
  shown: string,
  inputs: PackerInputs,
  types: OptionTypes,
): TemplateDocument {
  const read = readTemplateBytes(path, shown);
  if ("problem" in read) throw new ConfigErrors([new ConfigError(read.problem, { file: shown })]);
  const decoded = decodeUtf8(read.bytes);
  if ("bad" in decoded)
    throw new ConfigErrors([
      new ConfigError(describeBadUtf8(decoded.bad).replace("TOML files", "templates"), { file: shown, ...decoded.bad }),
    ]);
  let template: unknown;
  try {
    template = JSON.parse(decoded.text);
  } catch (error) {
    throw new ConfigErrors([
      new ConfigError(`JSON syntax: ${(error as Error).message}`, {
        file: shown,
        ...jsonErrorAt(decoded.text, error as Error),
      }),
    ]);
  }
  if (!isTable(template))
    throw new ConfigErrors([new ConfigError('a Packer JSON template is an object with "builders"', { file: shown })]);
  const positions = jsonPositions(decoded.text, shown);
  const where = (...keys: (string | number)[]): SourceLocation =>
    positions.get(JSON.stringify(keys)) ?? { file: shown };
  const errors: ConfigError[] = [];
  const warnings: ConfigError[] = [];
  for (const key of Object.keys(template))
    if (!TOP_LEVEL.includes(key) && !key.startsWith("_"))
      errors.push(new ConfigError(`unknown top-level key "${key}" in a Packer JSON template`, where(key)));

  const cwd = resolve(inputs.workingDir ?? process.cwd());
  const now = inputs.now ?? new Date();
  const base = { templateDir: dirname(path), cwd, now, buildName: "", buildType: "qemu" };
  const defaults = new Map<string, string>();
  const variables = resolveVariables(template, inputs, { ...base, user: () => "" }, where, errors, defaults);
  const user = (name: string) => {
    const found = variables.get(name);
    if (!found) throw new GoTemplateError(`{{user \`${name}\`}}: no variable "${name}" in "variables"`);
    return found.value;
  };

  // The builder: the qemu one left after -only/-except; others are reported and skipped.
  const builders = Array.isArray(template.builders) ? template.builders : [];
  const candidates: { index: number; name: string; options: Table }[] = [];
  builders.forEach((builder: unknown, index) => {
    if (!isTable(builder))
      return errors.push(
        new ConfigError('builders: each builder is an object with a "type"', where("builders", index)),
      );
    const type = String(builder.type ?? "");
    const name = typeof builder.name === "string" ? builder.name : type;
    if (!isChosen([name, `${type}.${name}`], inputs.only, inputs.except)) return;
    if (type !== "qemu")
      return warnings.push(
        new ConfigError(
          `builder "${name}" (${type}) skipped: tsimg builds qemu only (as if -only=<the qemu builder>)`,
          where("builders", index),
        ),
      );
    candidates.push({ index, name, options: builder });
  });
  const [chosen, ...others] = candidates;
  if (!chosen)
    errors.push(
      new ConfigError(
        `no qemu builder left to build${inputs.only?.length || inputs.except?.length ? " after -only/-except" : ""}: tsimg builds qemu only`,
        where("builders"),
      ),
    );
  if (others.length > 0)
    errors.push(
      new SeveralBuildsError(
        `the template has ${candidates.length} qemu builders (${candidates.map((c) => c.name).join(", ")}); one image needs one: choose it with -only=${chosen?.name}`,
        candidates.map((c) => ({ only: c.name, name: c.name })),
        where("builders"),
        [...warnings],
      ),
    );
  if (!chosen || errors.length > 0) throw new ConfigErrors(errors);

  const context: GoTemplateContext = { ...base, user, buildName: chosen.name };
  const render = (value: unknown, at: SourceLocation, key: string): unknown => {
    try {
      // Provisioners and post-processors may use the running build's values ({{build `Host`}}).
      return renderDeep(
        value,
        key === "provisioner" || key === "post-processor" ? { ...context, buildValues: true } : context,
      );
    } catch (error) {
      if (!(error instanceof GoTemplateError)) throw error;
      errors.push(new ConfigError(`${key}: ${error.message}`, at));
      return undefined;
    }
  };
  const locations: Locations = new Map([[JSON.stringify(["source"]), where("builders", chosen.index)]]);
  const report = { errors, warnings };
  const options: Table = {};
  for (const [key, value] of Object.entries(chosen.options)) {
    if (key === "type" || key === "name") continue;
    locations.set(JSON.stringify(["source", key]), where("builders", chosen.index, key));
    options[key] = render(value, where("builders", chosen.index, key), key);
  }
  const source = weaklyTyped(
    mapSource(options, chosen.name, `builder "${chosen.name}"`, (key) => where("builders", chosen.index, key), report),
    types.source.options,
  );

  const provisioner: Table[] = [];
  (Array.isArray(template.provisioners) ? template.provisioners : []).forEach((entry: unknown, index) => {
    const at = (...keys: (string | number)[]) => where("provisioners", index, ...keys);
    if (!isTable(entry)) return errors.push(new ConfigError('provisioners: each is an object with a "type"', at()));
    const { type, only, except, override, ...rest } = entry;
    if (!isChosen([chosen.name], list(only), list(except))) return;
    const own = isTable(override) ? override[chosen.name] : undefined;
    const merged = { ...rest, ...(isTable(own) ? own : {}) };
    const table = render(merged, at(), "provisioner") as Table | undefined;
    if (!table) return;
    const mapped = mapProvisioner(
      String(type),
      weaklyTyped(table, types.provisioners.types[String(type)]),
      `provisioner "${String(type)}"`,
      (key) => at(...(key ? [key] : [])),
      report,
    );
    if (!mapped) return;
    const i = provisioner.length;
    locations.set(JSON.stringify(["provisioner", i]), at());
    for (const key of Object.keys(mapped)) locations.set(JSON.stringify(["provisioner", i, key]), at(key));
    provisioner.push(mapped);
  });

  const postProcessor: Table[] = [];
  (Array.isArray(template["post-processors"]) ? template["post-processors"] : []).forEach((entry: unknown, index) => {
    const chain = Array.isArray(entry) && entry.length > 1 ? `post-processors #${index + 1}` : undefined;
    (Array.isArray(entry) ? entry : [entry]).forEach((member: unknown, j) => {
      const at = (...keys: (string | number)[]) =>
        Array.isArray(entry) ? where("post-processors", index, j, ...keys) : where("post-processors", index, ...keys);
      const table: Table = typeof member === "string" ? { type: member } : isTable(member) ? member : {};
      const { type, only, except, name, ...rest } = table;
      if (typeof type !== "string")
        return errors.push(new ConfigError('post-processors: each is a type name or an object with a "type"', at()));
      if (!isChosen([chosen.name], list(only), list(except))) return;
      if (inputs.except?.length && matchesAny(inputs.except, [typeof name === "string" ? name : type])) return;
      const rendered = render(rest, at(), "post-processor") as Table | undefined;
      if (!rendered) return;
      const mapped = mapPostProcessor(
        type,
        weaklyTyped(rendered, types.postProcessors.types[type]),
        `post-processor "${type}"`,
        (key) => at(...(key ? [key] : [])),
        report,
      );
      if (!mapped) return;
      const i = postProcessor.length;
      locations.set(JSON.stringify(["post_processor", i]), at());
      for (const key of Object.keys(mapped)) locations.set(JSON.stringify(["post_processor", i, key]), at(key));
      postProcessor.push(chain ? { ...mapped, chain } : mapped);
    });
  });
  if (errors.length > 0) throw new ConfigErrors(errors);
  anchorOutput(source, inputs, cwd);

  const envYaml = readEnvYaml(dirname(path));
  const image: Table = { ...(envYaml?.image ?? {}) };
  if (image.description === undefined && typeof template.description === "string")
    image.description = template.description;
  return {
    raw: { image, source, provisioner, post_processor: postProcessor },
    locate: documentLocator(locations, shown),
    shown,
    templatePath: path,
    templateDir: cwd,
    baseDir: cwd,
    defaultName: basename(path).replace(/(\.pkr)?\.json$/i, ""),
    evaluated: { variables },
    warnings,
    origin: {
      variables: Object.keys(isTable(template.variables) ? template.variables : {}).map((name) => ({
        name,
        type: "string",
        ...(defaults.has(name) ? { default: defaults.get(name) } : {}),
        sensitive: variables.get(name)?.sensitive ?? false,
      })),
      comments: new Map(),
      filesRead: new Map(),
    },
  };
}

function list(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.map(String) : undefined;
}

function renderDeep(value: unknown, context: GoTemplateContext): unknown {
  if (typeof value === "string") return renderGoTemplate(value, context);
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, context));
  if (isTable(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, context)]));
  return value;
}

/**
 * "variables" (defaults, which may use {{env}} and {{user}} of variables above them), then
 * -var-file (JSON) and -var, as in Packer. A variable whose default is null is required.
 */
function resolveVariables(
  template: Table,
  inputs: PackerInputs,
  context: GoTemplateContext,
  where: (...keys: (string | number)[]) => SourceLocation,
  errors: ConfigError[],
  defaults: Map<string, string>,
): Map<string, ResolvedVariable> {
  const declared = isTable(template.variables) ? template.variables : {};
  const sensitive = new Set(
    Array.isArray(template["sensitive-variables"]) ? template["sensitive-variables"].map(String) : [],
  );
  const values = new Map<string, string | undefined>();
  const given = new Map<string, string>();
  for (const file of inputs.varFiles ?? []) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
      if (!isTable(parsed)) throw new Error("expected an object of name: value");
      for (const [name, value] of Object.entries(parsed)) given.set(name, String(value));
    } catch (error) {
      errors.push(new ConfigError(`-var-file: ${(error as Error).message.split("\n")[0]}`, { file }));
    }
  }
  for (const [name, value] of Object.entries(inputs.vars ?? {})) {
    if (!(name in declared))
      errors.push(new ConfigError(`-var ${name}=...: the template declares no variable "${name}"`));
    given.set(name, value);
  }
  for (const [name, value] of Object.entries(declared)) {
    if (value === null || value === undefined) {
      values.set(name, given.get(name));
      continue;
    }
    try {
      const rendered = renderGoTemplate(String(value), {
        ...context,
        env: inputs.env ?? process.env,
        user: (other) => {
          const known = values.get(other);
          if (known === undefined) throw new GoTemplateError(`{{user \`${other}\`}}: no variable "${other}" above it`);
          return known;
        },
      });
      defaults.set(name, rendered);
      values.set(name, given.get(name) ?? rendered);
    } catch (error) {
      if (!(error instanceof GoTemplateError)) throw error;
      errors.push(new ConfigError(`variables.${name}: ${error.message}`, where("variables", name)));
    }
  }
  const out = new Map<string, ResolvedVariable>();
  for (const [name, value] of values) {
    if (value === undefined)
      errors.push(
        new ConfigError(
          `variable "${name}" is required: set it with -var ${name}=... or -var-file`,
          where("variables", name),
        ),
      );
    else out.set(name, { value, sensitive: sensitive.has(name) });
  }
  return out;
}
