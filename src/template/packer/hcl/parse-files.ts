// HCL files to their JSON form with @cdktf/hcl2json (HashiCorp's own HCL parser compiled to
// WebAssembly), so syntax and its errors are exactly HCL's. hcl2json only answers through
// promises and template loading is synchronous (every caller of loadTemplate is), so the
// parse runs in a worker thread while this thread waits on a shared flag: a few
// milliseconds once the WebAssembly module is compiled.
import { createRequire } from "node:module";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";

export interface HclFile {
  /** The name errors show. */
  name: string;
  text: string;
}

/** Each file's JSON form, or the parser's error ("file:line,col-col: Summary; detail"). */
export type ParsedHcl = { json: Record<string, unknown> } | { error: string };

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { parse } = require(workerData.module);
parentPort.on("message", async ({ files, port, flag }) => {
  const results = [];
  for (const file of files) {
    try {
      results.push({ json: await parse(file.name, file.text) });
    } catch (error) {
      results.push({ error: String(error && error.message ? error.message : error) });
    }
  }
  port.postMessage(results);
  port.close();
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
`;

/** How long a parse may take before it is called stuck (the first one compiles the WebAssembly: about a second). */
const TIMEOUT_MS = 60_000;

/** One worker for the process, kept (unref'd: it never holds the process open) so the WebAssembly compiles once. */
let worker: Worker | undefined;

function parser(): Worker {
  if (worker) return worker;
  const module = createRequire(import.meta.url).resolve("@cdktf/hcl2json");
  const started = new Worker(WORKER, { eval: true, workerData: { module } });
  started.unref();
  started.on("error", () => (worker = undefined));
  started.on("exit", () => (worker = undefined));
  worker = started;
  return started;
}

/** Parses the files with hcl2json; synchronous. */
export function parseHclFiles(files: HclFile[]): ParsedHcl[] {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const thread = parser();
  thread.postMessage({ files, port: port2, flag }, [port2]);
  try {
    if (Atomics.wait(flag, 0, 0, TIMEOUT_MS) === "timed-out") {
      void thread.terminate();
      throw new Error(`the HCL parser did not answer within ${TIMEOUT_MS / 1000} s`);
    }
    const message = receiveMessageOnPort(port1);
    if (!message) throw new Error("the HCL parser ended without an answer");
    return message.message as ParsedHcl[];
  } finally {
    port1.close();
  }
}
