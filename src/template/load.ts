// Template loading: TOML -> variables -> ${...} interpolation -> validation -> BuildPlan.
// Every problem found is reported at once, each with file:line:col and key path.
import TOML from "@iarna/toml";
import { existsSync, statSync } from "node:fs";
import { basename, dirname, relative, resolve } from "node:path";
import { ConfigError, ConfigErrors } from "../errors.js";
import { checkPostProcessor, postProcessorSecrets } from "../postprocessors/validate.js";
import { POST_PROCESSOR_TABLES } from "../postprocessors/schema.js";
import type { PostProcessorConfig } from "../postprocessors/types.js";
import { BootCommandError, parseBootCommand } from "../qemu/boot-command.js";
import { parseChecksum } from "../sources/checksum.js";
import { matchCdFiles } from "../sources/seed-media.js";
import { closest } from "../util/did-you-mean.js";
import { InterpolationError, interpolate, type InterpolationScope } from "./interpolate.js";
import { locateKey } from "./locate.js";
import { describeLimitProblem, findLimitProblem, type LimitProblem } from "./parsed-limits.js";
import { decodeUtf8, describeBadUtf8, readTemplateBytes } from "./read-text.js";
import { checkOutputPaths, hostContext } from "./output-paths.js";
import { FILE_OPTIONS, SHELL_LOCAL_PROVISIONER_OPTIONS, SHELL_OPTIONS, SOURCE_OPTIONS } from "./schema.js";
import type { BuildPlan, FileProvisionerConfig, ImageMeta, ProvisionerConfig, SourceConfig } from "./types.js";
import { checkTable, isPlainTable, resolvePath, type Problem } from "./validate.js";
import { resolveVariables, type VariableInputs } from "./variables.js";

export interface LoadOptions extends VariableInputs {
  /** Fixed clock for ${timestamp()} (tests). */
  now?: Date;
}

const TOP_LEVEL = ["image", "variables", "source", "provisioner", "post_processor"];

/** Loads and validates a template. Throws ConfigErrors listing every problem. */
export function loadTemplate(templatePath: string, options: LoadOptions = {}): BuildPlan {
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
    const twice = message === "Can't redefine existing key" && e.line !== undefined ? describeRedefinition(text, e.line) : undefined;
    const where = twice ?? (e.line === undefined ? {} : { line: e.line + 1, column: (e.col ?? 0) + 1 });
    throw new ConfigErrors([new ConfigError(`TOML syntax: ${twice?.message ?? message}`, { file: shown, ...where })]);
  }
  const beyond = findLimitProblem(raw);
  if (beyond) throw new ConfigErrors([limitError(text, shown, beyond)]);
  const found: Problem[] = [];
  const plan = buildPlan(raw, path, options, found);
  const toError = (problem: Problem) => {
    const at = locateKey(text, problem.path);
    return new ConfigError(problem.message, {
      file: shown,
      ...(at ? { line: at.line, column: at.column } : {}),
      key: problem.path.map((p) => (typeof p === "number" ? `[${p}]` : p)).join(".").replace(/\.\[/g, "["),
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
  const key = named.map((p) => (typeof p === "number" ? `[${p}]` : p)).join(".").replace(/\.\[/g, "[");
  return new ConfigError(`${key}: ${describeLimitProblem(problem)}`, { file, ...(at ? { line: at.line, column: at.column } : {}), key });
}

function buildPlan(raw: Record<string, unknown>, path: string, options: LoadOptions, problems: Problem[]): BuildPlan | undefined {
  const baseDir = dirname(path);
  for (const key of Object.keys(raw)) {
    if (TOP_LEVEL.includes(key)) continue;
    const hint = closest(key, TOP_LEVEL);
    // A key above the first [table] header is top-level: usually a [source] header left out.
    const kind = isPlainTable(raw[key]) || Array.isArray(raw[key]) ? "table" : "top-level key";
    problems.push({
      path: [key],
      message:
        kind === "top-level key" && key in SOURCE_OPTIONS
          ? `"${key}" is outside any table: it belongs under [source]`
          : `unknown ${kind} "${key}"${hint ? `; did you mean "${hint}"?` : ""}`,
    });
  }
  // TSIMG_VAR_x / PKR_VAR_x come from the real environment unless the caller gives one.
  const variables = resolveVariables(raw.variables, { ...options, env: options.env ?? process.env }, baseDir, problems);
  // A declared variable without a usable value is reported once, above; its uses interpolate to "".
  const declared = isPlainTable(raw.variables) ? Object.keys(raw.variables) : [];
  const scope: InterpolationScope = {
    variables: new Map([...declared.map((name): [string, string] => [name, ""]), ...[...variables].map(([name, v]): [string, string] => [name, v.value])]),
    baseDir,
    env: options.env ?? process.env,
    now: options.now ?? new Date(),
  };
  const resolved = (value: unknown, at: (string | number)[]) => interpolateDeep(value, at, scope, problems);

  const image = resolved(raw.image ?? {}, ["image"]);
  if (!isPlainTable(image)) problems.push({ path: ["image"], message: "image: expected a table [image]" });
  const imageName = isPlainTable(image) && typeof image.name === "string" ? image.name : basename(path).replace(/\.toml$/, "");

  const rawSource = resolved(raw.source, ["source"]);
  if (!isPlainTable(rawSource)) {
    problems.push({ path: [], message: "missing table [source] (the qemu builder's options)" });
    return undefined;
  }
  const source = checkTable(rawSource, SOURCE_OPTIONS, ["source"], baseDir, problems) as unknown as SourceConfig;
  source.output_directory = resolve(source.output_directory ?? `output-${imageName}`);
  source.vm_name ??= `${imageName}.${source.format}`;
  checkOutputPaths(source, rawSource, hostContext(baseDir), problems);
  // As written, before ${...}: an empty value from a variable without one is reported already.
  checkSource(source, isPlainTable(raw.source) ? raw.source : rawSource, baseDir, problems);

  const provisioners = checkProvisioners(resolved(raw.provisioner ?? [], ["provisioner"]), baseDir, problems);
  const postProcessors = checkPostProcessors(resolved(raw.post_processor ?? [], ["post_processor"]), baseDir, problems);
  const secrets = [...variables.values()].filter((v) => v.sensitive).map((v) => v.value);
  for (const secret of [source.ssh_password, ...postProcessorSecrets(postProcessors.flat())]) {
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

function interpolateDeep(value: unknown, path: (string | number)[], scope: InterpolationScope, problems: Problem[]): unknown {
  if (typeof value === "string") {
    try {
      return interpolate(value, scope);
    } catch (error) {
      if (!(error instanceof InterpolationError)) throw error;
      problems.push({ path, message: `${path.filter((p) => typeof p === "string").pop() ?? "value"}: ${error.message}` });
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolateDeep(item, typeof item === "object" && isPlainTable(item) ? [...path, i] : path, scope, problems));
  if (isPlainTable(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, [...path, k], scope, problems)]));
  }
  return value;
}

function checkSource(source: SourceConfig, raw: Record<string, unknown>, baseDir: string, problems: Problem[]): void {
  const at = (key: string) => ["source", key];
  chooseIso(source, raw, baseDir, problems);
  checkChecksum(source.iso_checksum, problems);
  checkDisks(source, raw, problems);
  checkMedia(source, baseDir, problems);
  if (raw.http_directory !== undefined && raw.http_content !== undefined) {
    problems.push({ path: at("http_content"), message: "http_directory and http_content cannot both be set: pick one" });
  }
  if (source.http_directory && !isDirectory(source.http_directory)) {
    problems.push({ path: at("http_directory"), message: `http_directory: no such directory ${source.http_directory}` });
  }
  if (source.ssh_private_key_file && !isFile(source.ssh_private_key_file)) {
    problems.push({ path: at("ssh_private_key_file"), message: `ssh_private_key_file: no such file ${source.ssh_private_key_file}` });
  }
  // Only an absent or literally empty one: a wrong type, or a variable without a value, is reported already.
  if (source.communicator === "ssh" && (!("ssh_username" in raw) || raw.ssh_username === "")) {
    problems.push({ path: ["source"], message: 'missing required key "ssh_username" (needed with communicator = "ssh")' });
  }
  for (const [min, max] of [["http_port_min", "http_port_max"], ["host_port_min", "host_port_max"], ["vnc_port_min", "vnc_port_max"]] as const) {
    if (source[min] > source[max]) problems.push({ path: at(min), message: `${min} (${source[min]}) is greater than ${max} (${source[max]})` });
  }
  try {
    parseBootCommand(source.boot_command ?? []);
  } catch (error) {
    if (!(error instanceof BootCommandError)) throw error;
    problems.push({ path: at("boot_command"), message: `boot_command: ${error.message}` });
  }
}

function checkProvisioners(raw: unknown, baseDir: string, problems: Problem[]): ProvisionerConfig[] {
  if (!Array.isArray(raw)) {
    problems.push({ path: ["provisioner"], message: "provisioner: expected [[provisioner]] tables" });
    return [];
  }
  const out: ProvisionerConfig[] = [];
  raw.forEach((entry: unknown, index) => {
    const path = ["provisioner", index];
    if (!isPlainTable(entry)) return problems.push({ path, message: "provisioner: expected a table" });
    if (entry.type === "shell") {
      const shell = checkTable(entry, SHELL_OPTIONS, path, baseDir, problems);
      const given = ["inline", "script", "scripts"].filter((k) => k in entry);
      if (given.length !== 1) {
        problems.push({ path, message: `shell provisioner needs exactly one of inline, script, scripts${given.length ? `; got ${given.join(" and ")}` : ""}` });
      }
      for (const script of [shell.script, ...((shell.scripts as string[] | undefined) ?? [])]) {
        if (typeof script === "string" && !isFile(script)) problems.push({ path: [...path, shell.script ? "script" : "scripts"], message: `no such script ${script}` });
      }
      out.push(shell as unknown as ProvisionerConfig);
    } else if (entry.type === "file") {
      out.push(checkFileProvisioner(entry, path, baseDir, problems));
    } else if (entry.type === "shell-local") {
      const local = checkTable(entry, SHELL_LOCAL_PROVISIONER_OPTIONS, path, baseDir, problems);
      const given = ["inline", "script", "scripts"].filter((k) => k in entry);
      if (given.length !== 1) {
        problems.push({ path, message: `shell-local provisioner needs exactly one of inline, script, scripts${given.length ? `; got ${given.join(" and ")}` : ""}` });
      }
      for (const script of [local.script, ...((local.scripts as string[] | undefined) ?? [])]) {
        if (typeof script === "string" && !isFile(script)) problems.push({ path: [...path, local.script ? "script" : "scripts"], message: `no such script ${script}` });
      }
      out.push(local as unknown as ProvisionerConfig);
    } else if (entry.type === undefined) {
      problems.push({ path, message: 'missing required key "type" (use "shell", "file" or "shell-local")' });
    } else {
      const hint = typeof entry.type === "string" ? closest(entry.type, ["shell", "file", "shell-local"]) : undefined;
      problems.push({
        path: [...path, "type"],
        message: `provisioner type ${JSON.stringify(entry.type)} is not known: use "shell", "file" or "shell-local"${hint ? ` (did you mean "${hint}"?)` : ""}`,
      });
    }
  });
  return out;
}

/**
 * `[[post_processor]]` tables -> chains. Each table is a chain of one, except that tables
 * sharing a `chain = "name"` form one chain, in the order written; chains keep the order
 * in which each first appears.
 */
function checkPostProcessors(raw: unknown, baseDir: string, problems: Problem[]): PostProcessorConfig[][] {
  if (!Array.isArray(raw)) {
    problems.push({ path: ["post_processor"], message: "post_processor: expected [[post_processor]] tables" });
    return [];
  }
  const chains = new Map<string, PostProcessorConfig[]>();
  raw.forEach((entry: unknown, index) => {
    const path = ["post_processor", index];
    if (!isPlainTable(entry)) return problems.push({ path, message: "post_processor: expected a table" });
    const { chain, ...table } = entry;
    let key = `#${index}`;
    if (chain !== undefined) {
      if (typeof chain === "string" && chain.trim() !== "") key = `chain ${chain}`;
      else problems.push({ path: [...path, "chain"], message: `chain: expected the chain's name, a non-empty string, got ${JSON.stringify(chain)}` });
    }
    if (table.type === undefined) {
      const types = Object.keys(POST_PROCESSOR_TABLES).map((t) => `"${t}"`);
      return problems.push({ path, message: `missing required key "type" (one of ${types.join(", ")})` });
    }
    const config = checkPostProcessor(table, path, baseDir, problems);
    if (config?.type === "shell-local") {
      for (const [name, script] of [["script", config.script], ...(config.scripts ?? []).map((s) => ["scripts", s])] as const) {
        if (script !== undefined && !isFile(script)) problems.push({ path: [...path, name], message: `no such script ${script}` });
      }
    }
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
function describeRedefinition(text: string, errorLine: number): { message: string; line: number; column: number } | undefined {
  const lines = text.split(/\r?\n/);
  const header = (line: string) => /^(\s*)\[\[?\s*([^[\],=]+?)\s*\]\]?\s*(#.*)?$/.exec(line);
  const key = (line: string) => /^(\s*)(?:"([^"]*)"|'([^']*)'|([\w-]+))\s*=/.exec(line);
  // The error sits at the end of the value, which may span lines: walk back to its key or header.
  for (let i = Math.min(errorLine, lines.length - 1); i >= 0; i--) {
    const table = header(lines[i] ?? "");
    if (table) {
      const first = lines.findIndex((line, j) => j < i && header(line)?.[2] === table[2]);
      return { message: `duplicate table [${table[2]}]${first >= 0 ? ` (first defined on line ${first + 1})` : ""}`, line: i + 1, column: (table[1]?.length ?? 0) + 1 };
    }
    const assignment = key(lines[i] ?? "");
    if (!assignment) continue;
    const name = assignment[2] ?? assignment[3] ?? assignment[4] ?? "";
    let first = -1;
    for (let j = i - 1; j >= 0 && !header(lines[j] ?? ""); j--) {
      const earlier = key(lines[j] ?? "");
      if (earlier && (earlier[2] ?? earlier[3] ?? earlier[4]) === name) first = j;
    }
    return { message: `duplicate key "${name}"${first >= 0 ? ` (first set on line ${first + 1})` : ""}`, line: i + 1, column: (assignment[1]?.length ?? 0) + 1 };
  }
  return undefined;
}

/**
 * Settles source.iso_url from iso_url or iso_urls (tried in order: the first local file
 * that exists). The ISO often lives outside the repo, so a missing one is a missing input:
 * validate warns, build refuses to start.
 */
function chooseIso(source: SourceConfig, raw: Record<string, unknown>, baseDir: string, problems: Problem[]): void {
  const at = (key: string) => ["source", key];
  if (raw.iso_url !== undefined && raw.iso_urls !== undefined) {
    problems.push({ path: at("iso_urls"), message: "iso_url and iso_urls cannot both be set: pick one" });
    return;
  }
  const key = raw.iso_urls !== undefined ? "iso_urls" : "iso_url";
  const given = raw.iso_urls !== undefined ? (source.iso_urls ?? []) : source.iso_url !== undefined ? [source.iso_url] : [];
  if (raw.iso_url === undefined && raw.iso_urls === undefined) {
    problems.push({ path: ["source"], message: 'missing required key "iso_url" (or "iso_urls"): the installer ISO' });
    return;
  }
  if (given.length === 0) {
    problems.push({ path: at(key), message: "iso_urls: give at least one path" });
    return;
  }
  const unsupported = given.find((url) => /^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^(file|https?):\/\//i.test(url));
  if (unsupported) {
    problems.push({ path: at(key), message: `${key}: ${unsupported}: only local paths, file://, http:// and https:// are supported` });
    return;
  }
  const sources = given.map((url) => (/^https?:\/\//i.test(url) ? url : resolvePath(url, baseDir)));
  source.iso_urls = sources;
  source.iso_url = sources.find(isFile) ?? sources[0]!;
  // Only local files can be checked now; a URL is tried at build time.
  if (sources.every((s) => !/^https?:\/\//i.test(s) && !isFile(s))) {
    problems.push({ path: at(key), message: `${key}: no such file ${sources.join(", ")}`, missingInput: true });
  }
}

/** The file provisioner: one of source/sources/content, local paths resolved on the host side only. */
function checkFileProvisioner(entry: Record<string, unknown>, path: (string | number)[], baseDir: string, problems: Problem[]): ProvisionerConfig {
  const file = checkTable(entry, FILE_OPTIONS, path, baseDir, problems) as unknown as FileProvisionerConfig;
  const given = ["source", "sources", "content"].filter((k) => k in entry);
  if (given.length !== 1) {
    problems.push({ path, message: `file provisioner needs exactly one of source, sources, content${given.length ? `; got ${given.join(" and ")}` : ""}` });
  }
  if (file.direction === "download") {
    if (file.source === undefined) problems.push({ path, message: 'direction = "download" needs source (the remote path)' });
    file.destination = resolvePath(file.destination, baseDir) + (file.destination.endsWith("/") ? "/" : "");
    return file;
  }
  if (typeof file.source === "string") {
    const slash = file.source.endsWith("/");
    file.source = resolvePath(file.source, baseDir);
    if (!file.generated && !existsSync(file.source)) problems.push({ path: [...path, "source"], message: `source: no such file or directory ${file.source}` });
    if (slash && !file.source.endsWith("/")) file.source += "/";
  }
  for (const [i, source] of (file.sources ?? []).entries()) {
    if (!file.generated && !existsSync(source)) problems.push({ path: [...path, "sources"], message: `sources item ${i + 1}: no such file or directory ${source}` });
  }
  return file;
}

function checkChecksum(value: string | undefined, problems: Problem[]): void {
  if (value === undefined || value === "none" || value.startsWith("file:")) return;
  try {
    parseChecksum(value);
  } catch (error) {
    problems.push({ path: ["source", "iso_checksum"], message: (error as Error).message });
  }
}

const QEMU_IMG_COMMANDS = ["create", "convert", "resize"];

/** disk_image and its companions, qemu_img_args, and -drive options QEMU would refuse. */
function checkDisks(source: SourceConfig, raw: Record<string, unknown>, problems: Problem[]): void {
  const at = (key: string) => ["source", key];
  for (const key of ["use_backing_file", "skip_resize_disk"] as const) {
    if (source[key] && !source.disk_image) problems.push({ path: at(key), message: `${key} needs disk_image = true (it applies to a base disk image)` });
  }
  if (source.use_backing_file && source.format !== "qcow2") {
    problems.push({ path: at("use_backing_file"), message: `use_backing_file needs format = "qcow2" (an overlay is a qcow2 feature), not "${source.format}"` });
  }
  if (source.disk_detect_zeroes === "unmap" && source.disk_discard !== "unmap") {
    problems.push({ path: at("disk_detect_zeroes"), message: 'disk_detect_zeroes = "unmap" needs disk_discard = "unmap" (QEMU refuses it otherwise)' });
  }
  const imgArgs = (source.qemu_img_args ?? {}) as Record<string, string[]>;
  for (const key of Object.keys(imgArgs)) {
    if (!QEMU_IMG_COMMANDS.includes(key)) {
      const hint = closest(key, QEMU_IMG_COMMANDS);
      problems.push({ path: ["source", "qemu_img_args", key], message: `qemu_img_args: unknown command "${key}"; use create, convert or resize${hint ? ` (did you mean "${hint}"?)` : ""}` });
    }
  }
  source.qemu_img_args = { create: imgArgs.create ?? [], convert: imgArgs.convert ?? [], resize: imgArgs.resize ?? [] };
  if (source.efi_boot) {
    for (const key of ["efi_firmware_code", "efi_firmware_vars"] as const) {
      if (!isFile(source[key])) {
        problems.push({ path: at(key), message: `${key}: no such file ${source[key]} (install Debian's ovmf package, or name the firmware)`, missingInput: !(key in raw) });
      }
    }
  }
}

/** cd_files patterns must match something: an empty seed CD is almost always a typo. */
function checkMedia(source: SourceConfig, baseDir: string, problems: Problem[]): void {
  for (const key of ["cd_files", "floppy_files"] as const) {
    (source[key] ?? []).forEach((pattern, i) => {
      if (matchCdFiles([pattern], baseDir).length === 0) problems.push({ path: ["source", key], message: `${key} item ${i + 1}: "${pattern}" matches no file or directory` });
    });
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
