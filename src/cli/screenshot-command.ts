// `tsimg screenshot <output_directory> [-o file.png]`: a PNG of the console of the VM that
// a running `tsimg build` (another process) is building into output_directory.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { requestScreenshot } from "./control.js";
import { EXIT } from "./exit-codes.js";
import { HELP } from "./help.js";
import { UsageError } from "./options.js";

/** Runs `tsimg screenshot`; resolves with the exit code (a missing build or VM throws, exit 1). */
export async function runScreenshot(argv: string[]): Promise<number> {
  let parsed: { values: { output?: string; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { output: { type: "string", short: "o" }, help: { type: "boolean", short: "h" } },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split("\n")[0]}. Run "tsimg screenshot --help".`);
  }
  if (parsed.values.help) {
    console.log(HELP.screenshot);
    return EXIT.ok;
  }
  const [outputDirectory, ...extra] = parsed.positionals;
  if (!outputDirectory || extra.length > 0)
    throw new UsageError('tsimg screenshot needs one output_directory, e.g. "tsimg screenshot output-tinyos"');
  const target = parsed.values.output ?? "screenshot.png";
  const { png, build } = await requestScreenshot(outputDirectory);
  if (target === "-") {
    process.stdout.write(png);
    return EXIT.ok;
  }
  writeFileSync(target, png);
  const size = png.length >= 24 ? ` ${png.readUInt32BE(16)}x${png.readUInt32BE(20)}` : "";
  console.log(`${target}: the console of ${build} (PNG${size}, ${png.length} bytes)`);
  return EXIT.ok;
}
