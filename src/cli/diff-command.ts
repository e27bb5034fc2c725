// `tsimg diff <A> <B>`: what changed between two images. A and B are manifests, SBOMs or
// output directories. Exit 0: no difference; 1: differences; 2: usage error.
import { parseArgs } from "node:util";
import { EXIT } from "./exit-codes.js";
import { HELP } from "./help.js";
import { UsageError } from "./options.js";

export async function runDiff(argv: string[]): Promise<number> {
  let parsed: { values: { json?: boolean; build?: string; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { json: { type: "boolean" }, build: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split("\n")[0]}. Run "tsimg diff --help".`);
  }
  if (parsed.values.help) {
    console.log(HELP.diff);
    return EXIT.ok;
  }
  const [a, b, ...extra] = parsed.positionals;
  if (!a || !b || extra.length > 0)
    throw new UsageError('tsimg diff needs two images, e.g. "tsimg diff old/manifest.json new/manifest.json"');
  const { diffImages, countDifferences, renderDiffText } = await import("../index.js");
  const diff = await diffImages(a, b, parsed.values.build ? { build: parsed.values.build } : {});
  process.stdout.write(parsed.values.json ? `${JSON.stringify(diff, null, 2)}\n` : renderDiffText(diff));
  return countDifferences(diff) === 0 ? EXIT.ok : EXIT.failed;
}
