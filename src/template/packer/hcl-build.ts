// The build of a Packer HCL2 template that tsimg runs, and its tables. A template may list
// several sources in several builds; a plan holds one of them: the qemu source left after
// -only/-except (with several left, SeveralBuildsError names each, and loadTemplates loads
// them one by one). Other sources (amazon-ebs, vsphere-iso...) are reported once and skipped.
import { ConfigError, ConfigErrors, SeveralBuildsError } from "../../core/errors.js";
import { closest } from "../../core/did-you-mean.js";
import { BUILD_VALUES, buildPlaceholder, type BuildValueName } from "../../core/runtime-vars.js";
import { at, attributeAt, orderedBlocks, type Block, type HclConfig } from "./hcl-config.js";
import { evaluateAttribute } from "./hcl-evaluate.js";
import { isObject, type Scope } from "./hcl/evaluate.js";
import type { OptionTypes, PackerInputs } from "./inputs.js";
import { weaklyTyped } from "./weak-types.js";
import type { Locations } from "./locations.js";
import { mapPostProcessor, mapProvisioner, mapSource } from "./packer-options.js";
import { isChosen, matchesAny } from "./select.js";

export interface ChosenBuild {
  build: Block;
  source: Block & { type: string; name: string };
  /** A `source "qemu.x" { ... }` block inside the build: a new name and overriding options. */
  override?: Block;
  /** The source's name in this build (an override's `name`, else its own). */
  name: string;
  buildName?: string;
  /** What only/except patterns match: "qemu.x", "source.qemu.x", "build.qemu.x". */
  names: string[];
}

interface Report {
  errors: ConfigError[];
  warnings: ConfigError[];
}

const BUILD_KEYS = ["name", "description", "sources"];
/** build.Host and the like, as the placeholders a loaded plan keeps. */
const BUILD_PLACEHOLDERS = Object.fromEntries(
  Object.keys(BUILD_VALUES).map((name) => [name, buildPlaceholder(name as BuildValueName)]),
);
const BUILD_BLOCKS = ["source", "provisioner", "post-processor", "post-processors"];

/** The one qemu build to run; throws ConfigErrors when there is none or more than one. */
export function chooseBuild(
  config: HclConfig,
  scope: Scope,
  inputs: PackerInputs,
  warnings: ConfigError[],
): ChosenBuild {
  const errors: ConfigError[] = [];
  const candidates: ChosenBuild[] = [];
  const skipped = new Set<string>();
  if (config.builds.length === 0)
    throw new ConfigErrors([new ConfigError("the template has no build block: nothing to build")]);
  for (const build of config.builds) {
    const buildName = optionalString(build, "name", scope, errors);
    const refs: { label: string; override?: Block; at: ReturnType<typeof at> }[] = [];
    const listed =
      build.body.sources === undefined
        ? []
        : evaluateAttribute(build.body.sources, scope, "sources", attributeAt(build, "sources"));
    for (const label of Array.isArray(listed) ? listed : [])
      refs.push({ label: String(label), at: attributeAt(build, "sources") });
    for (const block of orderedBlocks(build, ["source"]))
      refs.push({ label: block.outline.labels[0] ?? "", override: block, at: at(build.file, block.outline) });
    for (const ref of refs) {
      const key = ref.label.replace(/^source\./, "");
      const source = config.sources.get(key);
      if (!source) {
        const hint = closest(key, [...config.sources.keys()]);
        errors.push(
          new ConfigError(
            `build uses "source.${key}", which is not declared${hint ? `; did you mean "source.${hint}"?` : ""}`,
            ref.at,
          ),
        );
        continue;
      }
      const renamed = ref.override ? optionalString(ref.override, "name", scope, errors) : undefined;
      const name = renamed ?? source.name;
      const names = [
        `${source.type}.${name}`,
        `source.${source.type}.${name}`,
        ...(buildName ? [`${buildName}.${source.type}.${name}`] : []),
      ];
      if (!isChosen(names, inputs.only, inputs.except)) continue;
      if (source.type !== "qemu") {
        if (!skipped.has(key))
          warnings.push(
            new ConfigError(
              `source "${key}" skipped: tsimg builds qemu sources only (as if -only=qemu.*)`,
              at(source.file, source.outline),
            ),
          );
        skipped.add(key);
        continue;
      }
      candidates.push({
        build,
        source,
        ...(ref.override ? { override: ref.override } : {}),
        name,
        ...(buildName ? { buildName } : {}),
        names,
      });
    }
  }
  if (errors.length > 0) throw new ConfigErrors(errors);
  const [chosen, ...others] = candidates;
  if (!chosen) {
    const filtered = inputs.only?.length || inputs.except?.length ? " after -only/-except" : "";
    throw new ConfigErrors([
      new ConfigError(`no qemu source left to build${filtered}: tsimg builds qemu sources only`),
    ]);
  }
  if (others.length > 0)
    throw new ConfigErrors([
      new SeveralBuildsError(
        `the template builds ${candidates.length} qemu sources (${candidates.map((c) => c.names.at(-1)).join(", ")}); one image needs one: choose it with -only=${chosen.names[0]}`,
        candidates.map((c) => ({ only: c.names.at(-1) as string, name: c.name })),
        at(chosen.build.file, chosen.build.outline),
        [...warnings],
      ),
    ]);
  return chosen;
}

/** [source], [[provisioner]] and [[post_processor]] of the chosen build. */
export function buildTables(
  chosen: ChosenBuild,
  base: Scope,
  inputs: PackerInputs,
  locations: Locations,
  report: Report,
  types: OptionTypes,
  comments: Map<string, string[]>,
): Record<string, unknown> {
  const { build, source } = chosen;
  const scope: Scope = {
    ...base,
    names: { ...base.names, source: { type: source.type, name: chosen.name }, build: { name: chosen.buildName ?? "" } },
  };
  for (const key of Object.keys(build.body))
    if (!BUILD_KEYS.includes(key) && !BUILD_BLOCKS.includes(key))
      report.errors.push(
        new ConfigError(
          `build: tsimg does not support "${key}"${key === "error-cleanup-provisioner" ? ": use --on-error=abort to keep the VM, or a shell-local post-processor" : ""}`,
          attributeAt(build, key),
        ),
      );

  // [source]: the source block's attributes, then the build's override of them.
  const options: Record<string, unknown> = {};
  locations.set(JSON.stringify(["source"]), at(source.file, source.outline));
  for (const block of [source, chosen.override]) {
    if (!block) continue;
    for (const nested of block.outline.blocks)
      if (nested.type !== "qemu_img_args")
        report.errors.push(
          new ConfigError(`source: tsimg does not support the "${nested.type}" block`, at(block.file, nested)),
        );
    for (const [key, value] of writtenOrder(block)) {
      if (block === chosen.override && key === "name") continue;
      const where = attributeAt(block, key);
      const single = key === "qemu_img_args" && Array.isArray(value) ? value[0] : value;
      const evaluated = tryEvaluate(single, scope, key, where, report);
      if (evaluated === undefined || evaluated === null) continue; // null: not set, as in HCL
      options[key] = evaluated;
      locations.set(JSON.stringify(["source", key]), where);
      noteComments(comments, ["source", key], block.outline.attributes.find((a) => a.name === key)?.comments);
    }
  }
  const what = `source "${source.type}" "${source.name}"`;
  const locate = (key: string) => locations.get(JSON.stringify(["source", key])) ?? at(source.file, source.outline);
  const mapped = weaklyTyped(mapSource(options, chosen.name, what, locate, report), types.source.options);

  // Provisioners and post-processors also see the running build's values (build.Host...), as
  // placeholders the build fills in (core/runtime-vars.ts).
  const runScope: Scope = {
    ...scope,
    names: { ...scope.names, build: { ...(scope.names.build as object), ...BUILD_PLACEHOLDERS } },
  };
  const provisioner: Record<string, unknown>[] = [];
  for (const block of orderedBlocks(build, ["provisioner"])) {
    const table = blockTable(block, runScope, chosen, report);
    if (!table) continue;
    const type = block.outline.labels[0] ?? "";
    const i = provisioner.length;
    const locate = (key: string) => (key ? attributeAt(block, key) : at(block.file, block.outline));
    const mappedTable = mapProvisioner(
      type,
      weaklyTyped(table, types.provisioners.types[type]),
      `provisioner "${type}"`,
      locate,
      report,
    );
    if (!mappedTable) continue;
    locations.set(JSON.stringify(["provisioner", i]), at(block.file, block.outline));
    for (const key of Object.keys(mappedTable)) locations.set(JSON.stringify(["provisioner", i, key]), locate(key));
    noteBlockComments(comments, ["provisioner", i], block);
    provisioner.push(mappedTable);
  }

  const postProcessor: Record<string, unknown>[] = [];
  let chains = 0;
  for (const block of orderedBlocks(build, ["post-processor", "post-processors"])) {
    const members = block.outline.type === "post-processors" ? orderedBlocks(block, ["post-processor"]) : [block];
    const chain = block.outline.type === "post-processors" ? `post-processors #${++chains}` : undefined;
    for (const member of members) {
      const type = member.outline.labels[0] ?? "";
      const name = typeof member.body.name === "string" ? member.body.name : type;
      if (inputs.except?.length && matchesAny(inputs.except, [name])) continue; // -except=<post-processor name>
      const table = blockTable(member, runScope, chosen, report);
      if (!table) continue;
      delete table.name;
      const locate = (key: string) => (key ? attributeAt(member, key) : at(member.file, member.outline));
      const mappedTable = mapPostProcessor(
        type,
        weaklyTyped(table, types.postProcessors.types[type]),
        `post-processor "${type}"`,
        locate,
        report,
      );
      if (!mappedTable) continue;
      const i = postProcessor.length;
      locations.set(JSON.stringify(["post_processor", i]), at(member.file, member.outline));
      for (const key of Object.keys(mappedTable))
        locations.set(JSON.stringify(["post_processor", i, key]), locate(key));
      postProcessor.push(chain ? { ...mappedTable, chain } : mappedTable);
    }
  }
  return { source: mapped, provisioner, post_processor: postProcessor };
}

/**
 * A provisioner's or post-processor's attributes, evaluated; undefined when its only/except
 * leaves it out of this build (or an attribute could not be evaluated).
 */
function blockTable(
  block: Block,
  scope: Scope,
  chosen: ChosenBuild,
  report: Report,
): Record<string, unknown> | undefined {
  const table: Record<string, unknown> = {};
  let failed = false;
  for (const [key, value] of writtenOrder(block)) {
    const evaluated = tryEvaluate(value, scope, key, attributeAt(block, key), report);
    if (evaluated === undefined) failed = true;
    else if (evaluated !== null) table[key] = evaluated;
  }
  for (const nested of block.outline.blocks)
    report.errors.push(
      new ConfigError(
        `${block.outline.type} "${block.outline.labels[0]}": tsimg does not support the "${nested.type}" block`,
        at(block.file, nested),
      ),
    );
  const list = (key: string) => (Array.isArray(table[key]) ? (table[key] as unknown[]).map(String) : undefined);
  const only = list("only");
  const except = list("except");
  delete table.only;
  delete table.except;
  if (!isChosen(chosen.names, only, except)) return undefined;
  // override = { "qemu.x" = { ... } }: options for one source only.
  const override = table.override;
  delete table.override;
  if (isObject(override))
    for (const name of chosen.names) if (isObject(override[name])) Object.assign(table, override[name]);
  return failed ? undefined : table;
}

/** The block's attributes in the order written (hcl2json sorts them; nested blocks last). */
function writtenOrder(block: Block): [string, unknown][] {
  const index = (key: string) => {
    const i = block.outline.attributes.findIndex((a) => a.name === key);
    return i < 0 ? Infinity : i;
  };
  return Object.entries(block.body).sort(([a], [b]) => index(a) - index(b));
}

function noteComments(comments: Map<string, string[]>, path: (string | number)[], lines: string[] | undefined): void {
  if (lines && lines.length > 0) comments.set(JSON.stringify(path), lines);
}

/** A block's comments and its attributes' ones. */
function noteBlockComments(comments: Map<string, string[]>, path: (string | number)[], block: Block): void {
  noteComments(comments, path, block.outline.comments);
  for (const attribute of block.outline.attributes)
    noteComments(comments, [...path, attribute.name], attribute.comments);
}

function tryEvaluate(value: unknown, scope: Scope, key: string, where: ReturnType<typeof at>, report: Report): unknown {
  try {
    return evaluateAttribute(value, scope, key, where);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    report.errors.push(error);
    return undefined;
  }
}

function optionalString(block: Block, key: string, scope: Scope, errors: ConfigError[]): string | undefined {
  if (block.body[key] === undefined) return undefined;
  try {
    const value = evaluateAttribute(block.body[key], scope, key, attributeAt(block, key));
    if (typeof value === "string") return value;
    errors.push(new ConfigError(`${key}: expected a string`, attributeAt(block, key)));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    errors.push(error);
  }
  return undefined;
}
