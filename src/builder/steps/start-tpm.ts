import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { sleep } from "../../core/abort.js";
import { TsimgError } from "../../core/errors.js";
import { describeExit, startQemu as startSupervised } from "../../qemu/process.js";
import { findProgram } from "../../util/which.js";
import type { BuildStep } from "../context.js";
import type { PreparedOutput, TpmStarted } from "../values.js";

/**
 * vtpm: starts swtpm (a software TPM 2.0, or 1.2 with use_tpm1) for QEMU's tpm-tis device.
 * It is supervised like QEMU: it dies with tsimg, and its state lives in the private work dir.
 */
export const startTpm: BuildStep<Pick<PreparedOutput, "workDir">, TpmStarted> = {
  name: "start-tpm",
  title: "Starting the virtual TPM...",
  async run(ctx, { workDir }, progress) {
    const { use_tpm1 } = ctx.build.plan.source;
    if (!(await findProgram("swtpm"))) throw new TsimgError("vtpm = true needs swtpm: apt-get install swtpm");
    const dir = join(workDir, "tpm");
    await mkdir(dir, { recursive: true });
    const socket = join(workDir, "swtpm.sock");
    const args = [
      "socket",
      "--tpmstate",
      `dir=${dir}`,
      "--ctrl",
      `type=unixio,path=${socket}`,
      ...(use_tpm1 ? [] : ["--tpm2"]),
      "--log",
      "level=1",
    ];
    const tpm = (progress.tpm = startSupervised({
      binary: "swtpm",
      args,
      onOutput: (line) => ctx.events.debug(`swtpm: ${line}`),
    }));
    // QEMU needs the control socket to exist when it starts.
    for (let waited = 0; !existsSync(socket); waited += 20) {
      if (tpm.exit) throw new TsimgError(`swtpm ${describeExit(tpm.exit)} at start`, { details: tpm.stderrTail() });
      if (waited > 5000)
        throw new TsimgError("swtpm did not open its socket within 5 s", { details: tpm.stderrTail() });
      await sleep(20, ctx.signal);
    }
    ctx.events.info(`virtual TPM ${use_tpm1 ? "1.2" : "2.0"} (swtpm, pid ${tpm.pid})`);
    return { tpm, tpmSocket: socket };
  },
  async cleanup(_ctx, _input, done) {
    await done.tpm?.kill();
  },
};
