// The blocks of a Packer HCL2 template's files, gathered: variables, locals, sources and
// builds, each with its hcl2json body and its outline (where it is, in what order). A folder's
// files form one template, as in Packer: a name declared twice is an error.
import { ConfigError } from "../../core/errors.js";
import type { Located } from "./hcl-evaluate.js";
import type { HclSourceFile } from "./hcl-files.js";
import type { OutlineBlock } from "./hcl/outline.js";

/** A block: its values (hcl2json) and where it is written. */
export interface Block {
  body: Record<string, unknown>;
  outline: OutlineBlock;
  file: HclSourceFile;
}

export interface HclConfig {
  variables: Block[];
  /** locals { a = ... } attributes and local "a" { expression = ... } blocks, by name. */
  locals: Map<string, { value: unknown; sensitive: boolean; at: Located }>;
  /** "type.name" -> the source block. */
  sources: Map<string, Block & { type: string; name: string }>;
  builds: Block[];
}

/** Where an outline item is. */
export function at(file: HclSourceFile, item: { line: number; column: number }): Located {
  return { file: file.shown, line: item.line, column: item.column };
}

/** The attribute's location in a block, or the block's own. */
export function attributeAt(block: Block, name: string): Located {
  const attribute = block.outline.attributes.find((a) => a.name === name);
  return at(block.file, attribute ?? block.outline);
}

/**
 * hcl2json's value of the n-th block of this type and labels in `body`: blocks come back
 * grouped as { type: { label: [ {...}, ... ] } }, each a list in file order.
 */
export function blockBody(
  body: Record<string, unknown>,
  type: string,
  labels: string[],
  n: number,
): Record<string, unknown> {
  let node: unknown = body[type];
  for (const label of labels) node = (node as Record<string, unknown> | undefined)?.[label];
  const list = Array.isArray(node) ? node : node === undefined ? [] : [node];
  return (list[n] ?? {}) as Record<string, unknown>;
}

/** Pairs each nested block in outline order with its hcl2json body. */
export function orderedBlocks(parent: Block, types: string[]): Block[] {
  const seen = new Map<string, number>();
  return parent.outline.blocks
    .filter((b) => types.includes(b.type))
    .map((outline) => {
      const key = JSON.stringify([outline.type, ...outline.labels]);
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      return { body: blockBody(parent.body, outline.type, outline.labels, n), outline, file: parent.file };
    });
}

const TOP_LEVEL_INSTEAD: Record<string, string> = {
  data: "data sources are not supported: pass the value with -var",
  hcp_packer_registry: "HCP Packer is not supported: remove the block",
  required_plugins: 'belongs inside "packer { }"',
};

/** Gathers the files' blocks; problems go to `errors`. */
export function gatherConfig(files: HclSourceFile[], errors: ConfigError[]): HclConfig {
  const config: HclConfig = { variables: [], locals: new Map(), sources: new Map(), builds: [] };
  const variableNames = new Map<string, Located>();
  for (const file of files) {
    const root: Block = { body: file.json, outline: file.outline, file };
    for (const attribute of file.outline.attributes)
      errors.push(
        new ConfigError(
          `"${attribute.name} = ..." outside any block: Packer templates hold blocks only (variable, locals, source, build)`,
          at(file, attribute),
        ),
      );
    for (const block of orderedBlocks(
      root,
      file.outline.blocks.map((b) => b.type),
    )) {
      const where = at(file, block.outline);
      const [first, second] = block.outline.labels;
      switch (block.outline.type) {
        case "packer":
          break; // required_version, required_plugins: accepted; tsimg downloads nothing
        case "variable":
        case "variables":
          if (block.outline.type === "variables") {
            errors.push(
              new ConfigError(
                '"variables { }" is the JSON template\'s form: write variable "name" { default = ... }',
                where,
              ),
            );
            break;
          }
          if (variableNames.has(first ?? ""))
            errors.push(
              new ConfigError(
                `variable "${first}" is declared twice (first at ${describe(variableNames.get(first ?? ""))})`,
                where,
              ),
            );
          else {
            variableNames.set(first ?? "", where);
            config.variables.push(block);
          }
          break;
        case "locals":
          for (const attribute of block.outline.attributes)
            addLocal(config, attribute.name, block.body[attribute.name], false, at(file, attribute), errors);
          break;
        case "local":
          addLocal(config, first ?? "", block.body.expression, block.body.sensitive === true, where, errors);
          break;
        case "source": {
          const key = `${first}.${second}`;
          if (config.sources.has(key))
            errors.push(new ConfigError(`source "${first}" "${second}" is declared twice`, where));
          else config.sources.set(key, { ...block, type: first ?? "", name: second ?? "" });
          break;
        }
        case "build":
          config.builds.push(block);
          break;
        default:
          errors.push(
            new ConfigError(
              `unknown block "${block.outline.type}": ${TOP_LEVEL_INSTEAD[block.outline.type] ?? "a Packer template holds packer, variable, locals, local, source and build blocks"}`,
              where,
            ),
          );
      }
    }
  }
  return config;
}

function addLocal(
  config: HclConfig,
  name: string,
  value: unknown,
  sensitive: boolean,
  where: Located,
  errors: ConfigError[],
): void {
  const earlier = config.locals.get(name);
  if (earlier)
    errors.push(new ConfigError(`local "${name}" is defined twice (first at ${describe(earlier.at)})`, where));
  else config.locals.set(name, { value, sensitive, at: where });
}

function describe(where: Located | undefined): string {
  return where ? `${where.file}:${where.line}` : "?";
}
