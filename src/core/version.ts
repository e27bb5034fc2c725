// tsimg's own version, read once from package.json (one level above src/ and dist/).
import { readFileSync } from "node:fs";

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

/** "0.1.0": what `tsimg --version` prints, what layer keys and SBOMs record, and Packer's `packer.version`. */
export const TSIMG_VERSION: string = readVersion();
