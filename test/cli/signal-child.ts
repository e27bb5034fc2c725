// A long-running command in miniature for signals.test.ts: untilSignal as serve and the
// worker use it, then an execa child process started (so signal-exit listens for SIGTERM
// after it, as when serve runs git), then a shutdown that takes a while. Prints each stage.
import { execa } from "execa";
import { signalExitCode, untilSignal } from "../../src/cli/signals.js";

// As in serve: the wait starts first, and git runs later, while serve waits.
const stopped = untilSignal((again) => {
  console.log(`again ${again}`);
  process.exit(signalExitCode(again));
});
const sleeper = execa("sleep", ["60"]);
sleeper.catch(() => undefined);
console.log("ready");
const signal = await stopped;
console.log(`stopping on ${signal}`);
// Closing the server, the database ...: 200 ms, or as long as the test asks (so that its
// second signal surely lands during the shutdown, however slow the machine).
await new Promise((resolve) => setTimeout(resolve, Number(process.env.SHUTDOWN_MS ?? 200)));
sleeper.kill();
console.log("stopped");
process.exitCode = signalExitCode(signal);
