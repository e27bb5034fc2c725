import type { Step } from "../../engine/runner.js";
import { runProvisioner } from "../../provisioners/run.js";
import { runtimeValues, type QemuBuildState } from "../state.js";
import { connectSsh } from "./wait-ssh.js";

/** Runs the provisioners in order over the SSH session; reconnects after an expected disconnect. */
export const provision: Step<QemuBuildState> = {
  name: "provision",
  title: "Provisioning...",
  async run(ctx, state) {
    const { plan } = state;
    const buildEnv = { PACKER_BUILD_NAME: plan.image.name, PACKER_BUILDER_TYPE: "qemu", TSIMG_BUILD_NAME: plan.image.name, PACKER_HTTP_ADDR: `10.0.2.2:${state.http?.port ?? ""}` };
    for (const [index, config] of plan.provisioners.entries()) {
      ctx.events.info(`provisioner ${index + 1}/${plan.provisioners.length}: ${config.type}`);
      if (!state.ssh) state.ssh = await connectSsh(state, ctx.signal, (why) => ctx.events.info(why));
      const result = await runProvisioner(config, { ssh: state.ssh, events: ctx.events, signal: ctx.signal, runtime: runtimeValues(state), buildEnv });
      if (result.disconnected) {
        state.ssh.close();
        delete state.ssh;
      }
    }
  },
};
