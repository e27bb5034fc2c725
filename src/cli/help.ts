// Help texts: `tsimg help`, `tsimg help <command>`, `tsimg <command> --help`.
import { readFileSync } from "node:fs";

/** tsimg's version, from package.json. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

const VARIABLE_OPTIONS = `  --var name=value      set a variable (repeatable; wins over everything else)
  --var-file FILE       name = value lines (repeatable): TOML (or JSON) for .toml templates; .pkrvars.hcl or JSON for Packer
  --only a,b            Packer templates: build only these builds (qemu.name; * matches anything)
  --except a,b          Packer templates: skip these builds, or post-processors of this name
  (Packer's spellings -var, -var-file, -only, -except work too)`;

export const HELP: Record<string, string> = {
  main: `tsimg ${VERSION}: build VM images with QEMU from TOML templates

Usage:
  tsimg build [options] <template...>     build images
  tsimg validate [options] <template...>  check templates and report every error
  tsimg inspect [options] <template>      show the resolved template and QEMU's command line
  tsimg import [-o out.toml] <template>   write a Packer template (.pkr.hcl/.pkr.json, folder, .json) as TOML
  tsimg screenshot <output_directory>     a PNG of the console of the VM a running build is building
  tsimg diff [--json] <A> <B>             what changed between two images (manifests, SBOMs, output dirs)
  tsimg cache ls | prune                  the layer cache: what it holds, and making room (docs/cache.md)
  tsimg serve --config serve.toml         the GitOps service: builds from GitLab merge-request comments
  tsimg worker --config worker.toml       a build host taking serve's builds from a queue (docs/scale-out.md)
  tsimg version                           print the version
  tsimg help [command]                    this text, or a command's

Exit codes:
  0    success
  1    a build failed
  2    usage or template error (nothing was built)
  130  interrupted by SIGINT (Ctrl-C)
  143  terminated by SIGTERM

Documentation: docs/getting-started.md, docs/cli.md, docs/reference.md, docs/migrating-from-packer.md, docs/serve.md, docs/scale-out.md`,

  build: `Usage: tsimg build [options] <template...>

Builds each template's image. Lines are prefixed with the image's name.

Options:
${VARIABLE_OPTIONS}
  --force               replace an existing output_directory
  --no-cache            ignore the layer cache: install and provision from scratch, keep no layers
  --resume              continue from the last layer a failed build kept; fail if there is none
  --on-error=cleanup    on failure, stop QEMU and remove the output (default)
  --on-error=abort      on failure, keep output_directory and the stopped VM's disk for inspection
  --on-error=ask        on failure, ask (on a terminal): clean up, abort, or retry the failed step
  --parallel N          run up to N builds at once (templates, or the qemu builds
                        of one Packer template; default 1)
  --json                one JSON event per line on stdout instead of text
  --log-file PATH       also write every line, with debug detail, to PATH (secrets masked)
  --timestamp           full date and milliseconds on every line instead of HH:MM:SS
  --debug               show QEMU's command line and output, the serial console, and stack traces

Ctrl-C or SIGTERM stops the builds cleanly (exit 130 / 143); a second one exits at once.`,

  cache: `Usage: tsimg cache ls [--json] [--dir DIR]
       tsimg cache prune (--all | --max-size SIZE) [--dir DIR]

The layer cache (docs/cache.md) keeps the install and each provisioner's result so a rebuild
continues from the longest unchanged chain. Its directory: --dir, else
$TSIMG_CACHE_DIR/layers (default ~/.cache/tsimg/layers).

  ls                    every layer: key, image, what it holds, size, age, last use
  prune --max-size 10G  remove least recently used layers until the cache fits
  prune --all           remove every layer no running build uses
  --json                ls as JSON`,

  validate: `Usage: tsimg validate [options] <template...>

Loads each template and reports every problem at once, each with file:line:column and the
key. A missing ISO is a warning here (it often lives outside the repository) and an error
for "tsimg build". Exits 0 when every template is valid, 2 otherwise.

Options:
${VARIABLE_OPTIONS}
  --debug               stack traces`,

  inspect: `Usage: tsimg inspect [options] <template>

Prints the resolved template (variables, every [source] option with defaults filled in,
provisioners) and the exact QEMU command line a build would run. Ports and temporary paths
are decided at build time and shown as <placeholders>. Secrets show as <sensitive>.

Options:
${VARIABLE_OPTIONS}
  --json                the same as one JSON object`,

  screenshot: `Usage: tsimg screenshot [options] <output_directory>

Saves a PNG of the console of the VM that a running "tsimg build" (in another shell) is
building into output_directory: the installer's screen, a boot menu, an error dialog.
Exits 1 with the reason when no build is running there or its VM is not running (yet).

Options:
  --output PATH, -o PATH  where to write the PNG (default screenshot.png; - for stdout)`,

  diff: `Usage: tsimg diff [options] <A> <B>

Shows what changed from image A to image B: packages added, removed and changed (with
versions), os and kernel, enabled services, users, groups, listening ports, uploaded files,
the build's inputs (template, scripts, kickstart, ISO; with a unified diff of a changed
script when both versions are still on disk) and lineage. A and B are manifests (their last
build), SBOMs (<vm_name>.cdx.json: no inputs) or output directories holding either.
Exit 0 when there is no difference, 1 when there are differences, 2 on a usage error.

Options:
  --json                the differences as one JSON object
  --build NAME          in a manifest with several builds, the last one named NAME`,

  import: `Usage: tsimg import [options] <template or folder>

Writes a Packer template (a .pkr.hcl or .pkr.json file, a folder of them, or a legacy
.json template) as the equivalent TOML template: "tsimg inspect" of both gives the same plan
and QEMU command line. Variables stay variables (\${var.name}), file() stays file(), comments above HCL
attributes and blocks are kept, and relative paths are rewritten relative to the new file.
Values tsimg cannot express in TOML are written as they evaluate, and said so on stderr.
A template with several qemu builds gives one TOML per build, <name>-<source>.toml (or
choose one with -only).

Options:
  --output PATH, -o PATH  where to write (default: the template's name + .toml, here)
  --force                 replace an existing file
${VARIABLE_OPTIONS}`,

  serve: `Usage: tsimg serve --config serve.toml

Runs the GitOps service (docs/serve.md): GitLab webhooks at POST /hooks/gitlab, builds
from "/tsimg build <image>" comments on merge requests, commit statuses and a result note
on the MR, and a dashboard with live logs. Secrets come from files only, named by
TSIMG_GITLAB_TOKEN_FILE, TSIMG_WEBHOOK_SECRET_FILE and TSIMG_DASHBOARD_TOKEN_FILE, or
systemd credentials (gitlab-token, webhook-secret, dashboard-token); never the environment.
Builds run in a child process with a clean environment, as build_user when set.
SIGINT or SIGTERM stops it; running builds are cancelled cleanly (a second signal exits at once).

Options:
  --config PATH         the service's TOML configuration (see serve.example.toml)`,

  worker: `Usage: tsimg worker --config worker.toml

Runs a build host for a tsimg serve whose serve.toml has a [queue] (docs/scale-out.md): it
takes queued builds from BullMQ on Redis whose image needs only labels this host has, up
to "slots" at once, runs each in an isolated process (as build_user when set) and sends its
events and result back through Redis. It never holds the GitLab token. The Redis password
comes from the file named by TSIMG_REDIS_PASSWORD_FILE (or the credential redis-password).
SIGINT or SIGTERM: no new job; running builds finish (on_sigterm = "cancel": are
cancelled); a second signal cancels them.

Options:
  --config PATH         the worker's TOML configuration (see worker.example.toml)`,

  version: `Usage: tsimg version

Prints tsimg's version.`,

  help: `Usage: tsimg help [command]

Prints help for tsimg or one command.`,
};
