// Template loading: TOML -> variables -> ${...} interpolation -> validation -> a loaded
// template. The components' checks come from the registry passed in; this file knows none of
// them. Every problem found is reported at once, each with file:line:col and key path.
import TOML from "@iarna/toml";
import { basename, dirname, relative, resolve } from "node:path";
import { isPlainTable, type Problem } from "../core/check-options.js";
import { closest } from "../core/did-you-mean.js";
import { ConfigError, ConfigErrors } from "../core/errors.js";
import { InterpolationError, interpolate, type InterpolationScope } from "./interpolate.js";
import { locateKey } from "./locate.js";
import { describeLimitProblem, findLimitProblem, type LimitProblem } from "./parsed-limits.js";
import { decodeUtf8, describeBadUtf8, readTemplateBytes } from "./read-text.js";
import type { ComponentRegistry, FamilySchema } from "./registry.js";
import type { ImageMeta, LoadedTemplate } from "./types.js";
import { resolveVariables, type VariableInputs } from "./variables.js";

export interface LoadOptions extends VariableInputs {
  /** Fixed clock for ${timestamp()} (tests). */
  now?: Date;
}

const TOP_LEVEL = ["image", "variables", "source", "provisioner", "post_processor"];

/** Loads a template and validates it with `components`. Throws ConfigErrors listing every problem. */
export function readTemplate<S, P, Q>(
  templatePath: string,
  options: LoadOptions,
  components: ComponentRegistry<S, P, Q>,
): LoadedTemplate<S, P, Q> {
  const path = resolve(templatePath);
  const fromCwd = relative(process.cwd(), path);
  const shown = fromCwd && !fromCwd.startsWith("..") ? fromCwd : path;
  const read = readTemplateBytes(path, shown);
  if ("problem" in read) throw new ConfigErrors([new ConfigError(read.problem, { file: shown })]);
  const decoded = decodeUtf8(read.bytes);
  if ("bad" in decoded) {
    const { line, column } = decoded.bad;
    throw new ConfigErrors([new ConfigError(describeBadUtf8(decoded.bad), { file: shown, line, column })]);
  }
  const text = decoded.text;
  let raw: Record<string, unknown>;
  try {
    raw = TOML.parse(text);
  } catch (error) {
    const e = error as Error & { line?: number; col?: number };
    const message = e.message.split("\n")[0]?.replace(/ at row \d+, col \d+, pos \d+:?$/, "") ?? "invalid TOML";
    const twice =
      message === "Can't redefine existing key" && e.line !== undefined
        ? describeRedefinition(text, e.line)
        : undefined;
    const where = twice ?? (e.line === undefined ? {} : { line: e.line + 1, column: (e.col ?? 0) + 1 });
    throw new ConfigErrors([new ConfigError(`TOML syntax: ${twice?.message ?? message}`, { file: shown, ...where })]);
  }
  const beyond = findLimitProblem(raw);
  if (beyond) throw new ConfigErrors([limitError(text, shown, beyond)]);
  const found: Problem[] = [];
  const plan = buildPlan(raw, path, options, components, found);
  const toError = (problem: Problem) => {
    const at = locateKey(text, problem.path);
    return new ConfigError(problem.message, {
      file: shown,
      ...(at ? { line: at.line, column: at.column } : {}),
      key: problem.path
        .map((p) => (typeof p === "number" ? `[${p}]` : p))
        .join(".")
        .replace(/\.\[/g, "["),
      ...(problem.hint ? { hint: problem.hint } : {}),
    });
  };
  const errors = found.filter((p) => !p.missingInput);
  if (errors.length > 0 || !plan) throw new ConfigErrors(errors.map(toError));
  plan.missingInputs = found.filter((p) => p.missingInput).map(toError);
  return plan;
}

/** Names the key holding the value (its first few names: the rest is brackets) and its line. */
function limitError(text: string, file: string, { path, problem }: LimitProblem): ConfigError {
  const end = path.findIndex((p, i) => typeof p === "number" && typeof path[i + 1] !== "string");
  const named = path.slice(0, Math.min(end < 0 ? path.length : end, 3));
  let at: ReturnType<typeof locateKey>;
  for (let n = named.length; n > 0 && !at; n--) at = locateKey(text, named.slice(0, n));
  const key = named
    .map((p) => (typeof p === "number" ? `[${p}]` : p))
    .join(".")
    .replace(/\.\[/g, "[");
  return new ConfigError(`${key}: ${describeLimitProblem(problem)}`, {
    file,
    ...(at ? { line: at.line, column: at.column } : {}),
    key,
  });
}

function buildPlan<S, P, Q>(
  raw: Record<string, unknown>,
  path: string,
  options: LoadOptions,
  components: ComponentRegistry<S, P, Q>,
  problems: Problem[],
): LoadedTemplate<S, P, Q> | undefined {
  const baseDir = dirname(path);
  for (const key of Object.keys(raw)) {
    if (TOP_LEVEL.includes(key)) continue;
    const hint = closest(key, TOP_LEVEL);
    // A key above the first [table] header is top-level: usually a [source] header left out.
    const kind = isPlainTable(raw[key]) || Array.isArray(raw[key]) ? "table" : "top-level key";
    problems.push({
      path: [key],
      message:
        kind === "top-level key" && key in components.source.options
          ? `"${key}" is outside any table: it belongs under [source]`
          : `unknown ${kind} "${key}"${hint ? `; did you mean "${hint}"?` : ""}`,
    });
  }
  // TSIMG_VAR_x / PKR_VAR_x come from the real environment unless the caller gives one.
  const variables = resolveVariables(raw.variables, { ...options, env: options.env ?? process.env }, baseDir, problems);
  // A declared variable without a usable value is reported once, above; its uses interpolate to "".
  const declared = isPlainTable(raw.variables) ? Object.keys(raw.variables) : [];
  const scope: InterpolationScope = {
    variables: new Map([
      ...declared.map((name): [string, string] => [name, ""]),
      ...[...variables].map(([name, v]): [string, string] => [name, v.value]),
    ]),
    baseDir,
    env: options.env ?? process.env,
    now: options.now ?? new Date(),
  };
  const resolved = (value: unknown, at: (string | number)[]) => interpolateDeep(value, at, scope, problems);

  const image = resolved(raw.image ?? {}, ["image"]);
  if (!isPlainTable(image)) problems.push({ path: ["image"], message: "image: expected a table [image]" });
  const imageName =
    isPlainTable(image) && typeof image.name === "string" ? image.name : basename(path).replace(/\.toml$/, "");

  const rawSource = resolved(raw.source, ["source"]);
  if (!isPlainTable(rawSource)) {
    problems.push({ path: [], message: "missing table [source] (the qemu builder's options)" });
    return undefined;
  }
  // As written, before ${...}: an empty value from a variable without one is reported already.
  const written = isPlainTable(raw.source) ? raw.source : rawSource;
  const source = components.source.check(rawSource, written, { baseDir, imageName, problems });

  const provisioners = checkProvisioners(
    resolved(raw.provisioner ?? [], ["provisioner"]),
    components.provisioners,
    baseDir,
    problems,
  );
  const postProcessors = checkPostProcessors(
    resolved(raw.post_processor ?? [], ["post_processor"]),
    components.postProcessors,
    baseDir,
    problems,
  );
  const secrets = [...variables.values()].filter((v) => v.sensitive).map((v) => v.value);
  const componentSecrets = [
    ...components.source.secrets(source),
    ...components.provisioners.secrets(provisioners),
    ...components.postProcessors.secrets(postProcessors.flat()),
  ];
  for (const secret of componentSecrets) {
    if (secret && !secrets.includes(secret)) secrets.push(secret);
  }
  return {
    templatePath: path,
    templateDir: baseDir,
    image: { ...(isPlainTable(image) ? image : {}), name: imageName } as ImageMeta,
    source,
    provisioners,
    postProcessors,
    variables: Object.fromEntries(variables),
    secrets,
    missingInputs: [],
  };
}

function interpolateDeep(
  value: unknown,
  path: (string | number)[],
  scope: InterpolationScope,
  problems: Problem[],
): unknown {
  if (typeof value === "string") {
    try {
      return interpolate(value, scope);
    } catch (error) {
      if (!(error instanceof InterpolationError)) throw error;
      problems.push({
        path,
        message: `${path.filter((p) => typeof p === "string").pop() ?? "value"}: ${error.message}`,
      });
      return value;
    }
  }
  if (Array.isArray(value))
    return value.map((item, i) =>
      interpolateDeep(item, typeof item === "object" && isPlainTable(item) ? [...path, i] : path, scope, problems),
    );
  if (isPlainTable(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, [...path, k], scope, problems)]),
    );
  }
  return value;
}

function checkProvisioners<P>(raw: unknown, family: FamilySchema<P>, baseDir: string, problems: Problem[]): P[] {
  if (!Array.isArray(raw)) {
    problems.push({ path: ["provisioner"], message: "provisioner: expected [[provisioner]] tables" });
    return [];
  }
  const out: P[] = [];
  raw.forEach((entry: unknown, index) => {
    const path = ["provisioner", index];
    if (!isPlainTable(entry)) return problems.push({ path, message: "provisioner: expected a table" });
    const config = family.check(entry, path, baseDir, problems);
    if (config !== undefined) out.push(config);
  });
  return out;
}

/**
 * `[[post_processor]]` tables -> chains. Each table is a chain of one, except that tables
 * sharing a `chain = "name"` form one chain, in the order written; chains keep the order
 * in which each first appears.
 */
function checkPostProcessors<Q>(raw: unknown, family: FamilySchema<Q>, baseDir: string, problems: Problem[]): Q[][] {
  if (!Array.isArray(raw)) {
    problems.push({ path: ["post_processor"], message: "post_processor: expected [[post_processor]] tables" });
    return [];
  }
  const chains = new Map<string, Q[]>();
  raw.forEach((entry: unknown, index) => {
    const path = ["post_processor", index];
    if (!isPlainTable(entry)) return problems.push({ path, message: "post_processor: expected a table" });
    const { chain, ...table } = entry;
    let key = `#${index}`;
    if (chain !== undefined) {
      if (typeof chain === "string" && chain.trim() !== "") key = `chain ${chain}`;
      else
        problems.push({
          path: [...path, "chain"],
          message: `chain: expected the chain's name, a non-empty string, got ${JSON.stringify(chain)}`,
        });
    }
    const config = family.check(table, path, baseDir, problems);
    if (!config) return;
    const list = chains.get(key) ?? [];
    list.push(config);
    chains.set(key, list);
  });
  return [...chains.values()];
}

/**
 * @iarna/toml reports "Can't redefine existing key" at the end of the second value, even for a
 * table. Names the key or table instead, at its start, and where it was first set when that is plain.
 */
function describeRedefinition(
  text: string,
  errorLine: number,
): { message: string; line: number; column: number } | undefined {
  const lines = text.split(/\r?\n/);
  const header = (line: string) => /^(\s*)\[\[?\s*([^[\],=]+?)\s*\]\]?\s*(#.*)?$/.exec(line);
  const key = (line: string) => /^(\s*)(?:"([^"]*)"|'([^']*)'|([\w-]+))\s*=/.exec(line);
  // The error sits at the end of the value, which may span lines: walk back to its key or header.
  for (let i = Math.min(errorLine, lines.length - 1); i >= 0; i--) {
    const table = header(lines[i] ?? "");
    if (table) {
      const first = lines.findIndex((line, j) => j < i && header(line)?.[2] === table[2]);
      return {
        message: `duplicate table [${table[2]}]${first >= 0 ? ` (first defined on line ${first + 1})` : ""}`,
        line: i + 1,
        column: (table[1]?.length ?? 0) + 1,
      };
    }
    const assignment = key(lines[i] ?? "");
    if (!assignment) continue;
    const name = assignment[2] ?? assignment[3] ?? assignment[4] ?? "";
    let first = -1;
    for (let j = i - 1; j >= 0 && !header(lines[j] ?? ""); j--) {
      const earlier = key(lines[j] ?? "");
      if (earlier && (earlier[2] ?? earlier[3] ?? earlier[4]) === name) first = j;
    }
    return {
      message: `duplicate key "${name}"${first >= 0 ? ` (first set on line ${first + 1})` : ""}`,
      line: i + 1,
      column: (assignment[1]?.length ?? 0) + 1,
    };
  }
  return undefined;
}
