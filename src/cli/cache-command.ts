// `tsimg cache ls` and `tsimg cache prune`: what the layer cache holds, and making room.
import { formatDuration, layerCacheDirFromEnvironment, listLayers, LayerStore, pruneLayers } from "../index.js";
import { EXIT } from "./exit-codes.js";
import { HELP } from "./help.js";
import { parseCommandArgs } from "./options.js";
import { UsageError } from "./usage-error.js";

export async function runCache(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("cache", args, {
    dir: { type: "string" },
    all: { type: "boolean" },
    "max-size": { type: "string" },
    json: { type: "boolean" },
  });
  const [action, ...extra] = positionals;
  if (values.help || action === undefined) {
    console.log(HELP.cache);
    return EXIT.ok;
  }
  if (extra.length > 0) throw new UsageError(`tsimg cache ${action} takes no arguments besides options`);
  const store = await LayerStore.open(values.dir ?? layerCacheDirFromEnvironment());
  if (action === "ls") return list(store, values.json ?? false);
  if (action === "prune") {
    if (values.all === undefined && values["max-size"] === undefined)
      throw new UsageError("tsimg cache prune needs --all or --max-size SIZE (e.g. 10G)");
    const maxBytes = values.all ? 0 : parseSize(values["max-size"]!);
    const { removed, garbage, totalBytes } = await pruneLayers(store, maxBytes);
    for (const layer of removed) console.log(`removed ${layer.key.slice(0, 12)}  ${layer.image}  ${layer.title}`);
    if (garbage.length) console.log(`removed ${garbage.length} unfinished layer(s) of killed builds`);
    console.log(`${store.root}: ${formatBytes(totalBytes)} left`);
    return EXIT.ok;
  }
  throw new UsageError(`unknown cache action "${action}": ls or prune`);
}

async function list(store: LayerStore, json: boolean): Promise<number> {
  const { layers, garbage, totalBytes } = await listLayers(store);
  if (json) {
    console.log(JSON.stringify({ dir: store.root, totalBytes, layers, garbage }, null, 2));
    return EXIT.ok;
  }
  const now = Date.now();
  console.log(`${store.root}: ${layers.length} layer(s), ${formatBytes(totalBytes)}`);
  if (layers.length > 0)
    console.log("KEY           IMAGE           LAYER                  SIZE      CREATED      USED");
  // Most recently used first.
  for (const l of [...layers].reverse()) {
    console.log(
      [
        l.key.slice(0, 12).padEnd(13),
        l.image.padEnd(15),
        `${l.index} ${l.title}`.padEnd(22),
        formatBytes(l.bytes).padEnd(9),
        `${formatDuration(now - l.created)} ago`.padEnd(12),
        `${formatDuration(now - l.lastUsed)} ago`,
      ].join(" "),
    );
  }
  if (garbage.length)
    console.log(`${garbage.length} unfinished layer(s) of killed builds (tsimg cache prune removes them)`);
  return EXIT.ok;
}

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$/i.exec(text.trim());
  if (!match) throw new UsageError(`--max-size: "${text}" is not a size (e.g. 500M, 10G)`);
  const power = " KMGT".indexOf((match[2] || " ").toUpperCase());
  return Math.floor(Number(match[1]) * 1024 ** power);
}

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 && unit > 0 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
