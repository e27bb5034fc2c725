// `tsimg build`: load the templates, run the builds (up to --parallel at once) with a
// console renderer or --json, an optional log file, and SIGINT/SIGTERM turned into a clean
// cancel (a second signal exits at once; QEMU dies with us through its parent-death signal).
import { randomUUID } from "node:crypto";
import { appendFileSync, writeFileSync } from "node:fs";
import {
  ConfigErrors,
  formatDuration,
  loadTemplates,
  Masker,
  startBuild,
  type BuildEvent,
  type BuildPlan,
  type BuildResult,
  type TsimgError,
} from "../index.js";
import { EXIT } from "./exit-codes.js";
import { createAsker } from "./ask.js";
import { publishControl } from "./control.js";
import { formatError } from "./errors.js";
import { HELP } from "./help.js";
import { loadOptions, parseCommandArgs, printWarnings, UsageError } from "./options.js";
import { createRenderer } from "./render.js";

export async function runBuild(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("build", args, {
    force: { type: "boolean" },
    "no-cache": { type: "boolean" },
    resume: { type: "boolean" },
    "on-error": { type: "string" },
    parallel: { type: "string" },
    json: { type: "boolean" },
    "log-file": { type: "string" },
    timestamp: { type: "boolean" },
  });
  if (values.help) return printHelp();
  if (positionals.length === 0)
    throw new UsageError('tsimg build needs a template, e.g. "tsimg build images/tinyos.toml"');
  const onError = values["on-error"] ?? "cleanup";
  if (onError !== "cleanup" && onError !== "abort" && onError !== "ask")
    throw new UsageError(`--on-error must be "cleanup", "abort" or "ask", got "${onError}"`);
  if (onError === "ask" && !process.stdin.isTTY)
    throw new UsageError("--on-error=ask needs a terminal to ask on (stdin is not a TTY); use cleanup or abort");
  const askOnError = onError === "ask" ? createAsker(process.stdin, process.stderr) : undefined;
  const parallel = Number(values.parallel ?? "1");
  if (!Number.isInteger(parallel) || parallel < 1)
    throw new UsageError(`--parallel must be a whole number of at least 1, got "${values.parallel}"`);
  const debug = values.debug ?? false;
  if (values.resume && values["no-cache"])
    throw new UsageError("--resume continues from cached layers: it cannot go with --no-cache");

  // Load every template first: nothing starts if any of them is broken.
  const plans: BuildPlan[] = [];
  let broken = false;
  for (const path of positionals) {
    try {
      // A Packer template with several qemu builds gives a plan for each, as `packer build` runs them all.
      for (const plan of loadTemplates(path, loadOptions(values))) {
        const masker = new Masker();
        for (const secret of plan.secrets) masker.add(secret);
        printWarnings(plan, (line) => masker.mask(line));
        if (plan.missingInputs.length > 0) throw new ConfigErrors(plan.missingInputs);
        plans.push(plan);
      }
    } catch (error) {
      broken = true;
      for (const line of formatError(error, debug)) console.error(line);
    }
  }
  if (broken) return EXIT.config;

  const logFile = values["log-file"];
  if (logFile) writeFileSync(logFile, "");
  // The console renderer also keeps the per-step timings for the summary, so it sees every
  // event; with --json it just prints nothing.
  const console_ = createRenderer({
    debug,
    fullTimestamps: values.timestamp ?? false,
    write: values.json ? () => undefined : (line) => console.log(line),
  });
  const log = logFile
    ? createRenderer({ debug: true, fullTimestamps: true, write: (line) => appendFileSync(logFile, `${line}\n`) })
    : undefined;
  // The artifacts each build reported, secrets masked, for the closing "-->" lines.
  const artifacts = new Map<string, Extract<BuildEvent, { type: "artifact" }>[]>();
  const onEvent = (event: BuildEvent) => {
    if (event.type === "artifact") artifacts.set(event.build, [...(artifacts.get(event.build) ?? []), event]);
    if (values.json) process.stdout.write(`${JSON.stringify(event)}\n`);
    console_.onEvent(event);
    log?.onEvent(event);
  };
  const report = (line: string, toError = false) => {
    if (!values.json) (toError ? console.error : console.log)(line);
    if (logFile) appendFileSync(logFile, `${line}\n`);
  };

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
    // One run UUID for every build of this run, as Packer's PACKER_RUN_UUID (manifest last_run_uuid).
    const runUuid = randomUUID();
    const results = await runPool(plans, parallel, async (plan) => {
      const running = startBuild(plan, {
        force: values.force ?? false,
        keepOnError: onError === "abort",
        noCache: values["no-cache"] ?? false,
        resume: values.resume ?? false,
        signal: controller.signal,
        onEvent,
        runUuid,
        ...(askOnError
          ? { onStepError: (step: string, error: TsimgError) => askOnError(plan.image.name, step, error) }
          : {}),
      });
      // `tsimg screenshot <output_directory>` from another shell reaches the build through this.
      const control = await publishControl(plan.source.output_directory, plan.image.name, running).catch(
        (error: Error) => {
          report(`    ${plan.image.name}: tsimg screenshot will not reach this build: ${error.message}`, true);
          return undefined;
        },
      );
      if (control && !control.published)
        report(
          `    ${plan.image.name}: another running build uses ${plan.source.output_directory}: tsimg screenshot reaches that one`,
          true,
        );
      const result = await running.result.finally(() => control?.close());
      reportResult(result, artifacts.get(result.name) ?? [], debug, report, console_.summary(result.name));
      return result;
    });
    if (signalExit !== undefined) return signalExit;
    return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    // A question read the terminal: let go of it, or the process would wait on stdin forever.
    if (askOnError) process.stdin.destroy();
  }
}

function reportResult(
  result: BuildResult,
  artifacts: Extract<BuildEvent, { type: "artifact" }>[],
  debug: boolean,
  report: (line: string, toError?: boolean) => void,
  summary: string,
): void {
  report(`    ${result.name}: steps: ${summary}`);
  if (result.ok) {
    // Packer's closing lines: one per artifact, the post-processor's name beside the build's.
    const lines = artifacts.map(
      (a) => `--> ${result.name}${a.producer && a.producer !== "qemu" ? ` (${a.producer})` : ""}: ${a.id}`,
    );
    report([`==> Build '${result.name}' finished in ${formatDuration(result.durationMs)}.`, ...lines].join("\n"));
    return;
  }
  report(
    `==> Build '${result.name}' ${result.cancelled ? "was cancelled" : "errored"} after ${formatDuration(result.durationMs)}.`,
    true,
  );
  for (const line of formatError(result.error, debug)) report(line, true);
}

/** Runs `work` over items, at most `limit` at a time, keeping the input order in the results. */
async function runPool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function printHelp(): number {
  console.log(HELP.build);
  return EXIT.ok;
}
