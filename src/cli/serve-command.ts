// tsimg serve --config serve.toml: the GitOps service until SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { loadServeConfig, SECRET_ENV } from "../serve/config.js";
import { startServer } from "../serve/server.js";
import { HELP } from "./help.js";
import { UsageError } from "./options.js";

/** Runs the service; resolves with the exit code after a signal. */
export async function runServe(argv: string[]): Promise<number> {
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: "string" }, help: { type: "boolean" } }, strict: true }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run "tsimg serve --help".`);
  }
  if (values.help) {
    console.log(HELP.serve);
    return 0;
  }
  if (!values.config) throw new UsageError('missing --config serve.toml. Run "tsimg serve --help".');
  const config = loadServeConfig(values.config);
  // Builds run template code: they must not inherit the service's own secrets.
  for (const name of Object.values(SECRET_ENV)) delete process.env[name];
  const server = await startServer(config);
  console.log(`tsimg serve: listening on ${server.url} (public URL ${config.publicUrl})`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  console.log(`tsimg serve: ${signal}, stopping (running builds are cancelled)`);
  await server.close();
  return signal === "SIGINT" ? 130 : 143;
}
