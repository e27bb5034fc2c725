// HCL2 in JSON syntax (*.pkr.json, *.auto.pkrvars.json), as Packer reads it, turned into
// what the native syntax gives: hcl2json's shape (each block in a list, grouped by type and
// labels) and an outline (positions taken from the JSON text), so the rest of the HCL
// front-end reads both alike. JSON has no syntax for blocks: which properties are blocks,
// and how many labels they take, is Packer's schema, written out below.
import { ConfigError, ConfigErrors } from "../../../core/errors.js";
import { jsonErrorAt, jsonPositions } from "../json-positions.js";
import type { OutlineAttribute, OutlineBlock } from "./outline.js";

/** Block type -> label count, per enclosing block type ("" is the file). */
const BLOCKS: Record<string, Record<string, number>> = {
  "": { packer: 0, variable: 1, variables: 0, locals: 0, local: 1, source: 2, build: 0, data: 2 },
  packer: { required_plugins: 0 },
  variable: { validation: 0 },
  build: {
    source: 1,
    provisioner: 1,
    "post-processor": 1,
    "post-processors": 0,
    "error-cleanup-provisioner": 1,
    hcp_packer_registry: 0,
  },
  "post-processors": { "post-processor": 1 },
};

type Path = (string | number)[];
type Where = (path: Path) => { line: number; column: number };

/** A *.pkr.json template: hcl2json's JSON and the outline. Throws ConfigErrors, located. */
export function readJsonSyntax(text: string, shown: string): { json: Record<string, unknown>; outline: OutlineBlock } {
  const value = parseJson(text, shown);
  const positions = jsonPositions(text, shown);
  const where: Where = (path) => {
    const at = positions.get(JSON.stringify(path));
    return { line: at?.line ?? 1, column: at?.column ?? 1 };
  };
  const errors: ConfigError[] = [];
  const { body, attributes, blocks } = convertBody(value, [], "", where, (message, path) =>
    errors.push(new ConfigError(message, { file: shown, ...where(path) })),
  );
  if (errors.length > 0) throw new ConfigErrors(errors);
  return { json: body, outline: { type: "", labels: [], line: 1, column: 1, comments: [], attributes, blocks } };
}

/**
 * A *.auto.pkrvars.json file: `name: value` pairs. Values are literal, as in Packer, so a
 * "${" in a string is escaped for the evaluation that native .pkrvars.hcl values get.
 */
export function readJsonVarFile(text: string, shown: string): { json: Record<string, unknown>; outline: OutlineBlock } {
  const value = parseJson(text, shown);
  const positions = jsonPositions(text, shown);
  const attributes: OutlineAttribute[] = Object.keys(value).map((name) => {
    const at = positions.get(JSON.stringify([name]));
    return { name, line: at?.line ?? 1, column: at?.column ?? 1, comments: [] };
  });
  const outline: OutlineBlock = { type: "", labels: [], line: 1, column: 1, comments: [], attributes, blocks: [] };
  return { json: escapeTemplates(value) as Record<string, unknown>, outline };
}

function parseJson(text: string, shown: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigErrors([
      new ConfigError(`JSON syntax: ${(error as Error).message}`, {
        file: shown,
        ...jsonErrorAt(text, error as Error),
      }),
    ]);
  }
  if (!isObject(value)) throw new ConfigErrors([new ConfigError("expected a JSON object", { file: shown })]);
  return value;
}

interface Converted {
  body: Record<string, unknown>;
  attributes: OutlineAttribute[];
  blocks: OutlineBlock[];
}

function convertBody(
  value: unknown,
  path: Path,
  context: string,
  where: Where,
  error: (message: string, path: Path) => void,
): Converted {
  const out: Converted = { body: {}, attributes: [], blocks: [] };
  if (!isObject(value)) {
    error(`${context || "the file"}: expected a JSON object (a block's body)`, path);
    return out;
  }
  for (const [key, item] of Object.entries(value)) {
    if (key === "//") continue; // HCL's JSON syntax: a comment
    const labelCount = BLOCKS[context]?.[key];
    if (labelCount === undefined) {
      // A variable's type is an expression even in JSON ("list(string)"), as hcl2json writes it.
      out.body[key] = context === "variable" && key === "type" && typeof item === "string" ? `\${${item}}` : item;
      out.attributes.push({ name: key, ...where([...path, key]), comments: [] });
      continue;
    }
    for (const block of blockBodies(item, labelCount, [...path, key], [], error)) {
      const inner = convertBody(block.body, block.path, key, where, error);
      addBlock(out.body, key, block.labels, inner.body);
      out.blocks.push({
        type: key,
        labels: block.labels,
        ...where(block.path),
        comments: [],
        attributes: inner.attributes,
        blocks: inner.blocks,
      });
    }
  }
  return out;
}

/** The blocks a property holds: `{label: {label: body}}`, or a list of those for order and repeats. */
function blockBodies(
  value: unknown,
  labelsLeft: number,
  path: Path,
  labels: string[],
  error: (message: string, path: Path) => void,
): { labels: string[]; body: unknown; path: Path }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => blockBodies(v, labelsLeft, [...path, i], labels, error));
  if (labelsLeft === 0) return [{ labels, body: value, path }];
  if (!isObject(value)) {
    error(`"${path.filter((p) => typeof p === "string").join(".")}": expected an object of labels`, path);
    return [];
  }
  return Object.entries(value).flatMap(([label, v]) =>
    blockBodies(v, labelsLeft - 1, [...path, label], [...labels, label], error),
  );
}

/** hcl2json's grouping: body[type][label]...[label] is the list of that block's bodies. */
function addBlock(body: Record<string, unknown>, type: string, labels: string[], inner: Record<string, unknown>): void {
  let node = body as Record<string, unknown>;
  const keys = [type, ...labels];
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  const last = keys.at(-1) as string;
  ((node[last] ??= []) as unknown[]).push(inner);
}

function escapeTemplates(value: unknown): unknown {
  if (typeof value === "string") return value.replace(/([$%])\{/g, "$1$1{");
  if (Array.isArray(value)) return value.map(escapeTemplates);
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeTemplates(v)]));
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
