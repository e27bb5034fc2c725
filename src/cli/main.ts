#!/usr/bin/env node
// The tsimg command line: argv -> command. Everything it prints comes from build events
// or from error formatting; the library does the work.
import { parseArgs } from "node:util";
import { ConfigErrors } from "../errors.js";
import { EXIT, parseVarFlags, runBuild } from "./build-command.js";
import { formatError } from "./errors.js";
import { HELP, VERSION } from "./help.js";
import { loadTemplate } from "../template/load.js";

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "build":
      return runBuild(rest);
    case "validate":
      return runValidate(rest);
    case "version":
    case "--version":
      console.log(`tsimg ${VERSION}`);
      return EXIT.ok;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(HELP);
      return EXIT.ok;
    default:
      console.error(`Error: unknown command "${command}". Run "tsimg help".`);
      return EXIT.usage;
  }
}

function runValidate(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { var: { type: "string", multiple: true }, "var-file": { type: "string", multiple: true }, debug: { type: "boolean" } },
  });
  if (positionals.length === 0) {
    console.error("Error: tsimg validate needs a template, e.g. tsimg validate images/tinyos.toml");
    return EXIT.usage;
  }
  let failed = false;
  for (const path of positionals) {
    try {
      loadTemplate(path, { vars: parseVarFlags(values.var ?? []), varFiles: values["var-file"] ?? [] });
      console.log(`${path}: valid`);
    } catch (error) {
      if (!(error instanceof ConfigErrors)) throw error;
      failed = true;
      for (const line of formatError(error, values.debug ?? false)) console.error(line);
    }
  }
  return failed ? EXIT.config : EXIT.ok;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const debug = process.argv.includes("--debug");
    for (const line of formatError(error, debug)) console.error(line);
    process.exitCode = error instanceof ConfigErrors ? EXIT.config : EXIT.failed;
  },
);
