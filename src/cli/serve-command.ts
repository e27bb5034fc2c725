// tsimg serve --config serve.toml: the GitOps service until SIGINT/SIGTERM.
import { loadServeConfig, ServeConfigError } from "../serve/config.js";
import { checkBuildUser } from "../serve/worker-client.js";
import { startServer } from "../serve/server.js";
import { prepareStateDir } from "../serve/state-dir.js";
import { configPath } from "./config-args.js";
import { signalExitCode, untilSignal } from "./signals.js";

/** Runs the service; resolves with the exit code after a signal. */
export async function runServe(argv: string[]): Promise<number> {
  const file = configPath(argv, "serve");
  if (file === undefined) return 0;
  // Secrets come from files only (a secret in the environment is refused: docs/security.md).
  const config = loadServeConfig(file);
  // Builds run merge requests' code: never as root, and, with build_user, never as serve's own user.
  // With a queue serve runs none (the workers do, each with its own build_user).
  if (process.getuid?.() === 0 && !config.buildUser && !config.queue)
    throw new ServeConfigError(
      `tsimg serve runs as root, so builds (code from merge requests) would too: set build_user in ${file} to an unprivileged account`,
    );
  if (config.buildUser) {
    prepareStateDir(config);
    const problem = checkBuildUser(config.buildUser, config.stateDir);
    if (problem) throw new ServeConfigError(problem);
  }
  const server = await startServer(config);
  console.log(
    `tsimg serve: listening on ${server.url} (public URL ${config.publicUrl})${config.queue ? `; builds go to tsimg workers through ${config.queue.redis.url}` : config.buildUser ? `; builds run as ${config.buildUser.name}` : ""}`,
  );
  // A second signal stops serve at once.
  const signal = await untilSignal((again) => process.exit(signalExitCode(again)));
  console.log(`tsimg serve: ${signal}, stopping (running builds are cancelled)`);
  await server.close();
  return signalExitCode(signal);
}
