// The Packer HCL2 front-end: a *.pkr.hcl file or a folder of them -> the TOML-shaped
// document the loader validates. Variables and locals are resolved and every expression is
// evaluated here, with Packer 1.9's rules: relative paths resolve against the working
// directory (path.root is the template's folder), env() only in a variable's default,
// -only/-except choose the build. The one qemu build chosen becomes [source], its
// provisioners and post-processors the tables after it.
import { basename, resolve } from "node:path";
import { ConfigError, ConfigErrors } from "../../core/errors.js";
import { TSIMG_VERSION } from "../../core/version.js";
import type { TemplateDocument } from "../document.js";
import type { ResolvedVariable } from "../variables.js";
import { readEnvYaml } from "./env-yaml.js";
import { gatherConfig, type HclConfig } from "./hcl-config.js";
import { evaluateAttribute, evaluateJsonValue, type Located } from "./hcl-evaluate.js";
import { readHclTemplate } from "./hcl-files.js";
import { chooseBuild, buildTables } from "./hcl-build.js";
import { describeType, parseType } from "./hcl-types.js";
import { resolvePackerVariables, type VariableDecl } from "./hcl-variables.js";
import { HclExpressionError } from "./hcl/ast.js";
import type { Scope } from "./hcl/evaluate.js";
import { packerFunctions, REFUSED_FUNCTIONS } from "./hcl/functions.js";
import type { OptionTypes, PackerInputs } from "./inputs.js";
import { documentLocator, type Locations } from "./locations.js";
import { anchorOutput } from "./packer-options.js";

const ENV_REFUSED =
  'Packer allows env() only in a variable\'s default: declare variable "x" { default = env("X") } and use var.x';

export function readHclDocument(
  path: string,
  shown: string,
  inputs: PackerInputs,
  types: OptionTypes,
): TemplateDocument {
  const files = readHclTemplate(path);
  const errors: ConfigError[] = [];
  const warnings: ConfigError[] = [];
  const config = gatherConfig(files.templates, errors);
  if (errors.length > 0) throw new ConfigErrors(errors);

  const cwd = resolve(inputs.workingDir ?? process.cwd());
  const filesRead = new Map<string, string>();
  const functions = packerFunctions({
    cwd,
    now: inputs.now ?? new Date(),
    env: inputs.env ?? process.env,
    onRead: (file, text) => filesRead.set(file, text),
  });
  const paths = { root: files.root, cwd };
  // packer.version is the version of what builds the image: tsimg's, which is what a
  // template writing it into the image or a manifest wants recorded.
  const base: Scope = {
    names: { path: paths, packer: { version: TSIMG_VERSION } },
    functions,
    refused: { ...REFUSED_FUNCTIONS, env: ENV_REFUSED },
  };
  const inDefaults: Scope = { names: { path: paths }, functions, refused: REFUSED_FUNCTIONS };

  const decls = declareVariables(config, inDefaults, errors);
  if (errors.length > 0) throw new ConfigErrors(errors);
  const variables = resolvePackerVariables(decls, files.autoVarFiles, inputs, base, warnings);
  const scope: Scope = { ...base, names: { ...base.names, var: variables.values } };
  const resolved = new Map<string, ResolvedVariable>(variables.resolved);
  scope.names.local = defineLocals(config, scope, resolved);

  const chosen = chooseBuild(config, scope, inputs, warnings);
  const locations: Locations = new Map();
  const comments = new Map<string, string[]>();
  for (const block of config.variables)
    if (block.outline.comments.length > 0)
      comments.set(JSON.stringify(["variables", block.outline.labels[0]]), block.outline.comments);
  if (chosen.source.outline.comments.length > 0)
    comments.set(JSON.stringify(["source"]), chosen.source.outline.comments);
  const raw = buildTables(chosen, scope, inputs, locations, { errors, warnings }, types, comments);
  if (errors.length > 0) throw new ConfigErrors(errors);
  anchorOutput(raw.source as Record<string, unknown>, inputs, cwd);

  const envYaml = readEnvYaml(files.root);
  const image: Record<string, unknown> = { ...(envYaml?.image ?? {}) };
  if (envYaml) locations.set(JSON.stringify(["image"]), { file: envYaml.file });
  const description = chosen.build.body.description;
  if (image.description === undefined && description !== undefined)
    image.description = evaluateAttribute(
      description,
      scope,
      "build.description",
      chosen.build.outline ? { file: chosen.build.file.shown, line: chosen.build.outline.line } : { file: shown },
    );
  const folder = files.templates.length > 1 || path === files.root;
  return {
    raw: { image, ...raw },
    locate: documentLocator(locations, shown),
    shown,
    templatePath: chosen.source.file.path,
    // Build steps resolve file: checksums and cd_files and run shell-local in templateDir: for Packer, the working directory.
    templateDir: cwd,
    baseDir: cwd,
    defaultName: folder ? basename(files.root) : basename(path).replace(/\.pkr\.hcl$/i, ""),
    evaluated: { variables: resolved },
    warnings,
    origin: {
      variables: decls.map((d) => ({
        name: d.name,
        type: d.type ? describeType(d.type) : "string",
        ...(d.hasDefault ? { default: d.default } : {}),
        sensitive: d.sensitive,
        ...(d.description === undefined ? {} : { description: d.description }),
        fromTemplateFolder: /\.auto\.pkrvars\.(hcl|json)$/.test(variables.setBy.get(d.name) ?? ""),
      })),
      comments,
      filesRead,
    },
  };
}

function declareVariables(config: HclConfig, scope: Scope, errors: ConfigError[]): VariableDecl[] {
  return config.variables.map((block) => {
    const name = block.outline.labels[0] ?? "";
    const where = (key: string): Located => {
      const attribute = block.outline.attributes.find((a) => a.name === key);
      return {
        file: block.file.shown,
        line: (attribute ?? block.outline).line,
        column: (attribute ?? block.outline).column,
      };
    };
    const decl: VariableDecl = {
      name,
      hasDefault: "default" in block.body,
      sensitive: block.body.sensitive === true,
      ...(typeof block.body.description === "string" ? { description: block.body.description } : {}),
      validations: [],
      at: where(""),
    };
    try {
      if (block.body.type !== undefined) decl.type = parseType(block.body.type);
    } catch (error) {
      errors.push(new ConfigError(`variable "${name}": type: ${(error as Error).message}`, where("type")));
    }
    if (decl.hasDefault) {
      try {
        decl.default = evaluateJsonValue(block.body.default, scope);
      } catch (error) {
        if (!(error instanceof HclExpressionError)) throw error;
        errors.push(new ConfigError(`variable "${name}": default: ${error.message}`, where("default")));
      }
    }
    const validations = (Array.isArray(block.body.validation) ? block.body.validation : []) as Record<
      string,
      unknown
    >[];
    const validationBlocks = block.outline.blocks.filter((b) => b.type === "validation");
    validations.forEach((v, i) => {
      const outline = validationBlocks[i] ?? block.outline;
      decl.validations.push({
        condition: typeof v.condition === "string" ? v.condition : JSON.stringify(v.condition),
        errorMessage: typeof v.error_message === "string" ? v.error_message : "invalid value",
        at: { file: block.file.shown, line: outline.line, column: outline.column },
      });
    });
    for (const key of Object.keys(block.body))
      if (!["type", "default", "description", "sensitive", "validation", "nullable"].includes(key))
        errors.push(new ConfigError(`variable "${name}": unknown attribute "${key}"`, where(key)));
    return decl;
  });
}

/**
 * local.* as an object whose values are computed on first use, in whatever order they
 * refer to each other; a local that refers to itself, through others or not, is an error.
 */
function defineLocals(
  config: HclConfig,
  scope: Scope,
  resolved: Map<string, ResolvedVariable>,
): Record<string, unknown> {
  const locals: Record<string, unknown> = {};
  const state = new Map<string, "running" | { value: unknown }>();
  for (const [name, local] of config.locals) {
    Object.defineProperty(locals, name, {
      enumerable: true,
      get() {
        const known = state.get(name);
        if (known === "running")
          throw new HclExpressionError(`local.${name} refers to itself (through other locals or directly)`);
        if (known) return known.value;
        state.set(name, "running");
        try {
          const value = evaluateAttribute(local.value, scope, `local.${name}`, local.at);
          state.set(name, { value });
          if (local.sensitive)
            resolved.set(`local.${name}`, {
              value: typeof value === "string" ? value : JSON.stringify(value),
              sensitive: true,
            });
          return value;
        } finally {
          if (state.get(name) === "running") state.delete(name);
        }
      },
    });
  }
  return locals;
}
