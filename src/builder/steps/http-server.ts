import { renderRuntime } from "../../core/runtime-vars.js";
import { runtimeValues, type BuildStep } from "../context.js";
import type { HttpServing, SshKeyMade } from "../values.js";

/** Serves http_directory / http_content to the guest while the build runs. */
export const httpServer: BuildStep<Partial<SshKeyMade>, HttpServing> = {
  name: "http-server",
  title: "Starting HTTP server...",
  async run(ctx, input, progress) {
    const s = ctx.build.plan.source;
    // Loaded here, not with tsimg (koa takes ~0.1 s): validate and inspect never need it.
    const { startHttpServer } = await import("../../http/server.js");
    const http = (progress.http = await startHttpServer({
      ...(s.http_directory ? { directory: s.http_directory } : {}),

      host: s.http_bind_address,
      portMin: s.http_port_min,
      portMax: s.http_port_max,
      onRequest: (line) => ctx.events.info(line),
    }));
    // {{ .HTTPPort }} and {{ .SSHPublicKey }} are known only now.
    const values = runtimeValues(ctx.build.plan, { ...input, http });
    const content = Object.entries(s.http_content ?? {}).map(([path, body]) => [
      path,
      renderRuntime(body, values, `http_content "${path}"`),
    ]);
    http.setContent(Object.fromEntries(content));
    ctx.events.info(
      `HTTP server on http://${s.http_bind_address}:${http.port} (the guest sees http://10.0.2.2:${http.port})`,
    );
    return { http };
  },
  async cleanup(_ctx, _input, done) {
    await done.http?.close();
  },
};
