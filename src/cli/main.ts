#!/usr/bin/env node
// The tsimg command line: argv -> command. Everything it prints comes from build events
// or from error formatting; the library does the work.
// Each command's module is loaded when that command runs: `tsimg build` does not pay for
// serve's web server and database (about 0.2 s of start-up), nor serve for the builder.
import { HELP, VERSION } from "./help.js";
import { EXIT } from "./exit-codes.js";
import { UsageError } from "./usage-error.js";

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "build":
      return (await import("./build-command.js")).runBuild(rest);
    case "validate":
      return (await import("./validate-command.js")).runValidate(rest);
    case "inspect":
      return (await import("./inspect-command.js")).runInspect(rest);
    case "import":
      return (await import("./import-command.js")).runImport(rest);
    case "screenshot":
      return (await import("./screenshot-command.js")).runScreenshot(rest);
    case "serve":
      return (await import("./serve-command.js")).runServe(rest);
    case "diff":
      return (await import("./diff-command.js")).runDiff(rest);
    case "worker":
      return (await import("./worker-command.js")).runWorker(rest);
    case "cache":
      return (await import("./cache-command.js")).runCache(rest);
    case "version":
    case "--version":
      console.log(`tsimg ${VERSION}`);
      return EXIT.ok;
    case undefined:
    case "--help":
    case "-h":
      console.log(HELP.main);
      return EXIT.ok;
    case "help": {
      const topic = rest[0] ?? "main";
      const text = HELP[topic];
      if (!text)
        throw new UsageError(
          `no help for "${topic}": commands are build, validate, inspect, import, screenshot, diff, cache, serve, worker, version`,
        );
      console.log(text);
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown command "${command}". Run "tsimg help".`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  async (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`Error: ${error.message}`);
      process.exitCode = EXIT.usage;
      return;
    }
    // The library (and so the error classes) is loaded only by commands that use it, or here.
    const [{ ConfigErrors }, { formatError }] = await Promise.all([import("../index.js"), import("./errors.js")]);
    const debug = process.argv.includes("--debug");
    for (const line of formatError(error, debug)) console.error(line);
    process.exitCode = error instanceof ConfigErrors ? EXIT.config : EXIT.failed;
  },
);
