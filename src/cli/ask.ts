// --on-error=ask: when a step fails, the person at the terminal chooses, as in Packer:
// clean up, abort (keep the output for inspection), or retry the step.
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { TsimgError } from "../index.js";

export type OnErrorChoice = "cleanup" | "abort" | "retry";

const CHOICES: Record<string, OnErrorChoice> = { c: "cleanup", a: "abort", r: "retry" };

/**
 * Returns the question to ask on a failed step. One line reader serves every question, so
 * typed-ahead answers are not lost, and parallel builds that fail together are asked one
 * at a time, in order.
 */
export function createAsker(
  input: Readable,
  output: Writable,
): (build: string, step: string, error: TsimgError) => Promise<OnErrorChoice> {
  let lines: AsyncIterator<string> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const ask = async (build: string, step: string, error: TsimgError): Promise<OnErrorChoice> => {
    lines ??= createInterface({ input, terminal: false })[Symbol.asyncIterator]();
    output.write(`==> ${build}: step "${step}" failed: ${error.message}\n`);
    for (;;) {
      output.write(
        `==> ${build}: [c] clean up and exit, [a] abort and keep the output (QEMU is still stopped), [r] retry the step? `,
      );
      const next = await lines.next();
      // End of input (the terminal went away): the safe answer.
      if (next.done) return "cleanup";
      const choice = CHOICES[next.value.trim().toLowerCase().slice(0, 1)];
      if (choice) return choice;
    }
  };
  return (build, step, error) => {
    const answer = queue.then(() => ask(build, step, error));
    queue = answer.catch(() => undefined);
    return answer;
  };
}
