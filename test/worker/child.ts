// A `tsimg worker` process for the queue tests, with a stand-in build (no VM): argv[2] is
// its WorkerConfig as JSON, argv[3] the stand-in's options (fakeBuild's: hold until
// cancelled, fail, lines; gateFile: wait until that file exists). It prints "ready" once it
// takes jobs, and stops like tsimg worker on SIGTERM. Each build logs its template's path and
// first line first (or fails when the source it got has no template there).
import { existsSync, readFileSync } from "node:fs";
import { BuildHost } from "../../src/worker/worker.js";
import { fakeBuild } from "../serve/helpers.js";

const config = JSON.parse(process.argv[2] as string);
const options = JSON.parse(process.argv[3] ?? "{}") as {
  hold?: boolean;
  fail?: boolean;
  lines?: number;
  gateFile?: string;
};
const gate = options.gateFile
  ? () =>
      new Promise<void>((resolve) => {
        const timer = setInterval(() => existsSync(options.gateFile!) && (clearInterval(timer), resolve()), 50);
      })
  : undefined;
const stand = fakeBuild(options);
const host = new BuildHost(config, {
  buildFunction: async (input) => {
    const template = input.templatePath.slice(input.templatePath.lastIndexOf("/repo/") + 6);
    const first = readFileSync(input.templatePath, "utf8").split("\n")[0];
    input.onEvent({
      type: "log",
      level: "info",
      message: `template ${template}: ${first}`,
      build: "tinyos",
      time: Date.now(),
    });
    if (gate) await Promise.race([gate(), new Promise((r) => input.signal.addEventListener("abort", r))]);
    return stand(input);
  },
});
await host.start();
console.log("ready");
// process.on, not once: with no listener left, execa's signal-exit handler would re-raise SIGTERM.
process.on("SIGTERM", () => void host.stop(config.onSigterm === "cancel").then(() => process.exit(143)));
