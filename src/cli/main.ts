#!/usr/bin/env node
// The tsimg command line: argv -> command. Everything it prints comes from build events
// or from error formatting; the library does the work.
import { ConfigErrors } from "../errors.js";
import { EXIT, runBuild } from "./build-command.js";
import { formatError } from "./errors.js";
import { HELP, VERSION } from "./help.js";
import { runInspect } from "./inspect-command.js";
import { runScreenshot } from "./screenshot-command.js";
import { runServe } from "./serve-command.js";
import { UsageError } from "./options.js";
import { runValidate } from "./validate-command.js";

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "build":
      return runBuild(rest);
    case "validate":
      return runValidate(rest);
    case "inspect":
      return runInspect(rest);
    case "screenshot":
      return runScreenshot(rest);
    case "serve":
      return runServe(rest);
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
      if (!text) throw new UsageError(`no help for "${topic}": commands are build, validate, inspect, screenshot, serve, version`);
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
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`Error: ${error.message}`);
      process.exitCode = EXIT.usage;
      return;
    }
    const debug = process.argv.includes("--debug");
    for (const line of formatError(error, debug)) console.error(line);
    process.exitCode = error instanceof ConfigErrors ? EXIT.config : EXIT.failed;
  },
);
