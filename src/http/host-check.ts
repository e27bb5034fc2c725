// The server binds 127.0.0.1, but a web page open in the host's browser can still reach it:
// it points a name it controls at 127.0.0.1 (DNS rebinding) and reads the kickstart, and the
// passwords in it, as its own origin. The guest always asks by address ({{ .HTTPIP }} is
// 10.0.2.2), so a request naming the server by a DNS name is refused.
import type Koa from "koa";
import { isIP } from "node:net";

/** Koa middleware: 403 for a Host header that is a name; an address, "localhost" or no Host at all (HTTP/1.0) pass. */
export function requireAddressHost(): Koa.Middleware {
  return async (ctx, next) => {
    const name = ctx.hostname.replace(/^\[(.*)\]$/, "$1"); // "[::1]" -> "::1"
    if (name === "" || name === "localhost" || isIP(name) !== 0) return next();
    ctx.status = 403;
    ctx.state.refused = `Host ${JSON.stringify(ctx.host)} is a name, not an address (DNS rebinding)`;
  };
}
