// Template loading: TOML -> variables -> ${...} interpolation -> validation -> a loaded
// template. The components' checks come from the registry passed in; this file knows none of
// them. Every problem found is reported at once, each with file:line:col and key path.
import { isPlainTable, type Problem } from "../core/check-options.js";
import { closest } from "../core/did-you-mean.js";
import { ConfigError, ConfigErrors } from "../core/errors.js";
import { InterpolationError, interpolate, type InterpolationScope } from "./interpolate.js";
import type { KeyPath, SourceLocation, TemplateDocument } from "./document.js";
import { readDocument } from "./formats.js";
import type { PackerInputs } from "./packer/inputs.js";
import { describeLimitProblem, findLimitProblem, type LimitProblem } from "./parsed-limits.js";
import type { ComponentRegistry, FamilySchema, ListSchema } from "./registry.js";
import type { ImageMeta, LoadedTemplate } from "./types.js";
import { resolveVariables } from "./variables.js";

/** -var, -var-file, the environment, -only/-except, a fixed clock (tests). */
export type LoadOptions = PackerInputs;

const TOP_LEVEL = ["image", "variables", "source", "provisioner", "post_processor", "test"];

/** Loads a template (any format: see formats.ts) and validates it with `components`. Throws ConfigErrors listing every problem. */
export function readTemplate<S, P, Q, T = never>(
  templatePath: string,
  options: LoadOptions,
  components: ComponentRegistry<S, P, Q, T>,
): LoadedTemplate<S, P, Q, T> {
  const doc = readDocument(templatePath, options, components);
  const beyond = findLimitProblem(doc.raw);
  if (beyond) throw new ConfigErrors([limitError(doc, beyond)]);
  const found: Problem[] = [];
  const plan = buildPlan(doc, options, components, found);
  const toError = (problem: Problem) => {
    const at = doc.locate(problem.path);
    return new ConfigError(problem.message, {
      file: at?.file ?? doc.shown,
      ...(at?.line === undefined ? {} : { line: at.line, column: at.column }),
      key: keyName(problem.path),
      ...(problem.hint ? { hint: problem.hint } : {}),
    });
  };
  const errors = found.filter((p) => !p.missingInput);
  if (errors.length > 0 || !plan) throw new ConfigErrors(errors.map(toError));
  plan.missingInputs = found.filter((p) => p.missingInput).map(toError);
  plan.warnings = doc.warnings;
  return plan;
}

/** ["provisioner", 1, "script"] -> "provisioner[1].script". */
function keyName(path: KeyPath): string {
  return path
    .map((p) => (typeof p === "number" ? `[${p}]` : p))
    .join(".")
    .replace(/\.\[/g, "[");
}

/** Names the key holding the value (its first few names: the rest is brackets) and its line. */
function limitError(doc: TemplateDocument, { path, problem }: LimitProblem): ConfigError {
  const end = path.findIndex((p, i) => typeof p === "number" && typeof path[i + 1] !== "string");
  const named = path.slice(0, Math.min(end < 0 ? path.length : end, 3));
  let at: SourceLocation | undefined;
  for (let n = named.length; n > 0 && at?.line === undefined; n--) at = doc.locate(named.slice(0, n));
  const key = keyName(named);
  return new ConfigError(`${key}: ${describeLimitProblem(problem)}`, {
    file: at?.file ?? doc.shown,
    ...(at?.line === undefined ? {} : { line: at.line, column: at.column }),
    key,
  });
}

function buildPlan<S, P, Q, T>(
  doc: TemplateDocument,
  options: LoadOptions,
  components: ComponentRegistry<S, P, Q, T>,
  problems: Problem[],
): LoadedTemplate<S, P, Q, T> | undefined {
  const { raw, baseDir } = doc;
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
  const variables =
    doc.evaluated?.variables ??
    resolveVariables(raw.variables, { ...options, env: options.env ?? process.env }, baseDir, problems);
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
  // Packer front-ends have evaluated their expressions: a "${" left in a value is literal text.
  const resolved = (value: unknown, at: KeyPath) =>
    doc.evaluated ? value : interpolateDeep(value, at, scope, problems);

  const image = resolved(raw.image ?? {}, ["image"]);
  if (!isPlainTable(image)) problems.push({ path: ["image"], message: "image: expected a table [image]" });
  const imageName = isPlainTable(image) && typeof image.name === "string" ? image.name : doc.defaultName;

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
  const tests = checkTests(resolved(raw.test ?? [], ["test"]), components.tests, baseDir, problems);
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
    templatePath: doc.templatePath,
    templateDir: doc.templateDir,
    image: { ...(isPlainTable(image) ? image : {}), name: imageName } as ImageMeta,
    source,
    provisioners,
    postProcessors,
    tests,
    variables: Object.fromEntries(variables),
    secrets,
    missingInputs: [],
    warnings: [],
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

function checkTests<T>(raw: unknown, schema: ListSchema<T> | undefined, baseDir: string, problems: Problem[]): T[] {
  if (!Array.isArray(raw) || (!schema && raw.length > 0)) {
    problems.push({ path: ["test"], message: schema ? "test: expected [[test]] tables" : 'unknown table "test"' });
    return [];
  }
  const out: T[] = [];
  raw.forEach((entry: unknown, index) => {
    const path = ["test", index];
    if (!isPlainTable(entry)) return problems.push({ path, message: "test: expected a table" });
    const config = schema?.check(entry, path, baseDir, problems);
    if (config !== undefined) out.push(config);
  });
  return out;
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
