import type { Step } from "../../core/runner.js";
import { startHttpServer } from "../../http/server.js";
import { renderRuntime } from "../../core/runtime-vars.js";
import { runtimeValues, type QemuBuildState } from "../state.js";

/** Serves http_directory / http_content to the guest while the build runs. */
export const httpServer: Step<QemuBuildState> = {
  name: "http-server",
  title: "Starting HTTP server...",
  async run(ctx, state) {
    const s = state.plan.source;
    state.http = await startHttpServer({
      ...(s.http_directory ? { directory: s.http_directory } : {}),

      host: s.http_bind_address,
      portMin: s.http_port_min,
      portMax: s.http_port_max,
      onRequest: (line) => ctx.events.info(line),
    });
    // {{ .HTTPPort }} and {{ .SSHPublicKey }} are known only now.
    const values = runtimeValues(state);
    const content = Object.entries(s.http_content ?? {}).map(([path, body]) => [path, renderRuntime(body, values, `http_content "${path}"`)]);
    state.http.setContent(Object.fromEntries(content));
    ctx.events.info(`HTTP server on http://${s.http_bind_address}:${state.http.port} (the guest sees http://10.0.2.2:${state.http.port})`);
  },
  async cleanup(_ctx, state) {
    await state.http?.close();
  },
};
