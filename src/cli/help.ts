import { readFileSync } from "node:fs";

/** tsimg's version, from package.json. */
export const VERSION: string = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

export const HELP = `tsimg ${VERSION}: build VM images with QEMU from TOML templates

Usage:
  tsimg build [options] <template.toml>    build an image
  tsimg validate [options] <template...>   check templates, report every error
  tsimg version                            print the version
  tsimg help                               this text

Build options:
  --var name=value      set a variable (repeatable; wins over everything else)
  --var-file file.toml  variables from a TOML file (repeatable)
  --force               replace an existing output_directory
  --on-error=cleanup    on failure remove the output (default)
  --on-error=abort      on failure keep output_directory and the stopped VM's disk
  --json                print one JSON event per line on stdout
  --debug               show QEMU's command line, its output, the serial console and stack traces

Exit codes:
  0  success
  1  the build failed
  2  usage or template error (nothing was built)
  130  interrupted by SIGINT (Ctrl-C);  143  terminated by SIGTERM

Documentation: docs/getting-started.md, docs/reference.md, docs/migrating-from-packer.md`;
