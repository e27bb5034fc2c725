// Checks one `[[provisioner]]` table: its type, its options, and what a table cannot express
// (exactly one of inline/script/scripts, scripts and sources that exist).
import { existsSync } from "node:fs";
import { checkTable, isFile, resolvePath, type Problem } from "../core/check-options.js";
import { closest } from "../core/did-you-mean.js";
import { secretValues } from "../core/options.js";
import {
  FILE_OPTIONS,
  PROVISIONER_TABLES,
  SHELL_LOCAL_PROVISIONER_OPTIONS,
  SHELL_OPTIONS,
  type FileProvisionerConfig,
  type ProvisionerConfig,
} from "./options.js";

type Path = (string | number)[];

/** The provisioner's config, or undefined when its type is missing or unknown (a problem is added). */
export function checkProvisioner(
  entry: Record<string, unknown>,
  path: Path,
  baseDir: string,
  problems: Problem[],
): ProvisionerConfig | undefined {
  if (entry.type === "shell") {
    const shell = { ...checkTable(entry, SHELL_OPTIONS, path, baseDir, problems), type: "shell" as const };
    checkScripts("shell", entry, shell, path, problems);
    return shell;
  }
  if (entry.type === "file") return checkFileProvisioner(entry, path, baseDir, problems);
  if (entry.type === "shell-local") {
    const local = {
      ...checkTable(entry, SHELL_LOCAL_PROVISIONER_OPTIONS, path, baseDir, problems),
      type: "shell-local" as const,
    };
    checkScripts("shell-local", entry, local, path, problems);
    return local;
  }
  if (entry.type === undefined) {
    problems.push({ path, message: 'missing required key "type" (use "shell", "file" or "shell-local")' });
    return undefined;
  }
  const hint = typeof entry.type === "string" ? closest(entry.type, ["shell", "file", "shell-local"]) : undefined;
  problems.push({
    path: [...path, "type"],
    message: `provisioner type ${JSON.stringify(entry.type)} is not known: use "shell", "file" or "shell-local"${hint ? ` (did you mean "${hint}"?)` : ""}`,
  });
  return undefined;
}

/** Values to mask in every output: each provisioner's `secret` options. */
export function provisionerSecrets(configs: ProvisionerConfig[]): string[] {
  return configs.flatMap((config) => secretValues(PROVISIONER_TABLES[config.type], config));
}

/** Exactly one of inline, script, scripts; every script exists. */
function checkScripts(
  kind: string,
  entry: Record<string, unknown>,
  config: { script?: string; scripts?: string[] },
  path: Path,
  problems: Problem[],
): void {
  const given = ["inline", "script", "scripts"].filter((k) => k in entry);
  if (given.length !== 1) {
    problems.push({
      path,
      message: `${kind} provisioner needs exactly one of inline, script, scripts${given.length ? `; got ${given.join(" and ")}` : ""}`,
    });
  }
  for (const script of [config.script, ...(config.scripts ?? [])]) {
    if (typeof script === "string" && !isFile(script))
      problems.push({ path: [...path, config.script ? "script" : "scripts"], message: `no such script ${script}` });
  }
}

/** The file provisioner: one of source/sources/content, local paths resolved on the host side only. */
function checkFileProvisioner(
  entry: Record<string, unknown>,
  path: Path,
  baseDir: string,
  problems: Problem[],
): FileProvisionerConfig {
  const file: FileProvisionerConfig = { ...checkTable(entry, FILE_OPTIONS, path, baseDir, problems), type: "file" };
  const given = ["source", "sources", "content"].filter((k) => k in entry);
  if (given.length !== 1) {
    problems.push({
      path,
      message: `file provisioner needs exactly one of source, sources, content${given.length ? `; got ${given.join(" and ")}` : ""}`,
    });
  }
  if (file.direction === "download") {
    if (file.source === undefined)
      problems.push({ path, message: 'direction = "download" needs source (the remote path)' });
    file.destination = resolvePath(file.destination, baseDir) + (file.destination.endsWith("/") ? "/" : "");
    return file;
  }
  if (typeof file.source === "string") {
    const slash = file.source.endsWith("/");
    file.source = resolvePath(file.source, baseDir);
    if (!file.generated && !existsSync(file.source))
      problems.push({ path: [...path, "source"], message: `source: no such file or directory ${file.source}` });
    if (slash && !file.source.endsWith("/")) file.source += "/";
  }
  for (const [i, source] of (file.sources ?? []).entries()) {
    if (!file.generated && !existsSync(source))
      problems.push({
        path: [...path, "sources"],
        message: `sources item ${i + 1}: no such file or directory ${source}`,
      });
  }
  return file;
}
