// tsimg worker --config worker.toml: a build host taking serve's queued builds until
// SIGTERM/SIGINT (no new job; running builds finish, or are cancelled with on_sigterm =
// "cancel"; a second signal cancels them).
import { ServeConfigError } from "../serve/config.js";
import { loadWorkerConfig } from "../worker/config.js";
import { BuildHost } from "../worker/worker.js";
import { configPath } from "./config-args.js";
import { signalExitCode, untilSignal } from "./signals.js";

/** Runs the worker; resolves with the exit code after a signal. */
export async function runWorker(argv: string[]): Promise<number> {
  const file = configPath(argv, "worker");
  if (file === undefined) return 0;
  const config = loadWorkerConfig(file);
  if (process.getuid?.() === 0 && !config.buildUser)
    throw new ServeConfigError(
      `tsimg worker runs as root, so builds (code from merge requests) would too: set build_user in ${file} to an unprivileged account`,
    );
  const host = new BuildHost(config);
  await host.start();
  console.log(
    `tsimg worker ${config.name}: ${config.slots} slot${config.slots === 1 ? "" : "s"}, labels [${config.labels.join(", ")}], waiting for jobs`,
  );
  // A second signal cancels the running builds.
  const signal = await untilSignal(() => void host.stop(true));
  const cancel = config.onSigterm === "cancel";
  console.log(
    `tsimg worker ${config.name}: ${signal}, taking no new job; running builds ${cancel ? "are cancelled" : "finish (a second signal cancels them)"}`,
  );
  await host.stop(cancel);
  return signalExitCode(signal);
}
