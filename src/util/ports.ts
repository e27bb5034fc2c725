// Finding a free TCP port in a range on a given address.
import net from "node:net";
import { TsimgError } from "../core/errors.js";

/** True when `port` can be bound on `host` right now. */
export function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Returns a free port in [min, max] on host, starting at a random point so that parallel
 * builds rarely race for the same one. Fails with a message naming the range.
 */
export async function findFreePort(min: number, max: number, host: string, what: string): Promise<number> {
  const count = max - min + 1;
  const start = Math.floor(Math.random() * count);
  for (let i = 0; i < count; i++) {
    const port = min + ((start + i) % count);
    if (await isPortFree(port, host)) return port;
  }
  throw new TsimgError(`no free port for ${what} in ${min}..${max} on ${host}: every port in the range is in use`);
}
