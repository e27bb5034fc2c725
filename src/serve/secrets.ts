// Where serve's secrets come from: files only (a path in TSIMG_<NAME>_FILE, or a systemd
// credential), never the environment. A process's initial environment stays readable in
// /proc/<pid>/environ for as long as it runs, by every process of the same user: deleting a
// variable from process.env does not change it, and neither does re-executing serve (the
// shell, sudo or unit that started it still holds the value). A secret that was never in any
// environment cannot leak through one. See docs/security.md, "Secrets and the build's environment".
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** serve's secrets: the variable naming each one's file, and its systemd credential name. */
export const SECRET_FILES = {
  gitlabToken: { variable: "TSIMG_GITLAB_TOKEN", credential: "gitlab-token" },
  webhookSecret: { variable: "TSIMG_WEBHOOK_SECRET", credential: "webhook-secret" },
  dashboardToken: { variable: "TSIMG_DASHBOARD_TOKEN", credential: "dashboard-token" },
  /** The Redis password of serve's or a worker's ACL user ([queue] in serve.toml, worker.toml). */
  redisPassword: { variable: "TSIMG_REDIS_PASSWORD", credential: "redis-password" },
} as const;

/** Shortest secret accepted. */
const MIN_LENGTH = 8;

/** What readSecret needs to know about the host. */
export interface SecretContext {
  env: NodeJS.ProcessEnv;
  /** Problems are collected here (the config lists every problem at once). */
  problems: string[];
  /** The build user's uid: a secret file it owns is refused (a build could read it). */
  buildUid?: number;
}

/**
 * Reads one secret: from the file named by `<variable>_FILE`, else from
 * `$CREDENTIALS_DIRECTORY/<credential>` (systemd's LoadCredential=). The variable itself set
 * in the environment is an error, as is a file other users may read. One trailing newline is
 * dropped; the value must be one line of at least 8 characters.
 */
export function readSecret(
  which: keyof typeof SECRET_FILES,
  required: boolean,
  ctx: SecretContext,
): string | undefined {
  const { variable, credential } = SECRET_FILES[which];
  const { env, problems } = ctx;
  if (env[variable] !== undefined && env[variable] !== "")
    problems.push(
      `${variable} is set in the environment: serve reads secrets only from files, because a process's environment stays readable in /proc/<pid>/environ to every process of its user (a build's shell-local included) for as long as it runs. Put the value in a file only serve's user can read and set ${variable}_FILE to its path, or pass it as the systemd credential "${credential}" (LoadCredential=${credential}:<path>)`,
    );
  const fromCredentials = env.CREDENTIALS_DIRECTORY ? join(env.CREDENTIALS_DIRECTORY, credential) : undefined;
  const file =
    env[`${variable}_FILE`] || (fromCredentials && existsSync(fromCredentials) ? fromCredentials : undefined);
  if (!file) {
    if (required)
      problems.push(
        `${variable}_FILE is not set (nor is there a systemd credential "${credential}"): serve needs the file that holds ${variable}`,
      );
    return undefined;
  }
  const where = `${file} (${file === fromCredentials ? `credential "${credential}"` : `${variable}_FILE`})`;
  let value: string;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) {
      problems.push(`${where} is not a file`);
      return undefined;
    }
    if ((stat.mode & 0o077) !== 0)
      problems.push(`${where} can be read by other users (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 it`);
    if (ctx.buildUid !== undefined && stat.uid === ctx.buildUid)
      problems.push(`${where} belongs to build_user, so every build could read it: chown it to the user serve runs as`);
    value = readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    problems.push(`cannot read ${where}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return undefined;
  }
  if (/[\r\n]/.test(value)) problems.push(`${where} must hold the secret on one line`);
  else if (value.length < MIN_LENGTH)
    problems.push(`${where} holds a secret that is too short (at least ${MIN_LENGTH} characters)`);
  return value;
}
