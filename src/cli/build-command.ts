// `tsimg build`: load the template, run the build with a console renderer (or --json),
// turn SIGINT/SIGTERM into a clean cancel (a second one exits at once; QEMU dies with
// us through its parent-death signal).
import { parseArgs } from "node:util";
import { ConfigError, ConfigErrors } from "../errors.js";
import { build } from "../engine/build.js";
import { loadTemplate } from "../template/load.js";
import { formatDuration } from "../template/units.js";
import { formatError } from "./errors.js";
import { createRenderer } from "./render.js";

export const EXIT = { ok: 0, failed: 1, usage: 2, config: 2, sigint: 130, sigterm: 143 } as const;

/** ["a=b", "c=d=e"] -> { a: "b", c: "d=e" }. */
export function parseVarFlags(flags: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    if (eq <= 0) throw new ConfigErrors([new ConfigError(`--var "${flag}" is not name=value`)]);
    out[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return out;
}

export async function runBuild(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      var: { type: "string", multiple: true },
      "var-file": { type: "string", multiple: true },
      force: { type: "boolean" },
      "on-error": { type: "string" },
      json: { type: "boolean" },
      debug: { type: "boolean" },
    },
  });
  const debug = values.debug ?? false;
  if (positionals.length !== 1) {
    console.error("Error: tsimg build needs exactly one template, e.g. tsimg build images/tinyos.toml");
    return EXIT.usage;
  }
  const onError = values["on-error"] ?? "cleanup";
  if (onError !== "cleanup" && onError !== "abort") {
    console.error(`Error: --on-error must be "cleanup" or "abort", got "${onError}"`);
    return EXIT.usage;
  }
  let plan;
  try {
    plan = loadTemplate(positionals[0]!, { vars: parseVarFlags(values.var ?? []), varFiles: values["var-file"] ?? [] });
  } catch (error) {
    for (const line of formatError(error, debug)) console.error(line);
    return error instanceof ConfigErrors ? EXIT.config : EXIT.failed;
  }

  const write = values.json ? () => undefined : (line: string) => console.log(line);
  const renderer = createRenderer({ debug, write });
  const controller = new AbortController();
  let signalExit: number | undefined;
  const onSignal = (name: "SIGINT" | "SIGTERM") => {
    if (signalExit !== undefined) process.exit(signalExit);
    signalExit = name === "SIGINT" ? EXIT.sigint : EXIT.sigterm;
    console.error(`\n${name}: stopping the build and cleaning up (send it again to exit at once)`);
    controller.abort(`interrupted by ${name}`);
  };
  const onInt = () => onSignal("SIGINT");
  const onTerm = () => onSignal("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    const result = await build(plan, {
      force: values.force ?? false,
      keepOnError: onError === "abort",
      signal: controller.signal,
      onEvent: (event) => {
        if (values.json) process.stdout.write(`${JSON.stringify(event)}\n`);
        else renderer.onEvent(event);
      },
    });
    if (!values.json) console.log(`    steps: ${renderer.summary()}`);
    if (result.ok) {
      if (!values.json) console.log(`==> Build '${result.name}' finished in ${formatDuration(result.durationMs)}.\n--> ${result.name}: ${result.artifact}`);
      return EXIT.ok;
    }
    const verb = result.cancelled ? "was cancelled" : "errored";
    console.error(`==> Build '${result.name}' ${verb} after ${formatDuration(result.durationMs)}.`);
    for (const line of formatError(result.error, debug)) console.error(line);
    return signalExit ?? EXIT.failed;
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
}
