// Checksum and compression throughput of tsimg's post-processors against the CLIs they
// compete with (sha256sum, zstd -T0), on a semi-compressible file (random and zero blocks,
// like a disk image). Prints MB/s and ratios; never asserts. Run `npm run build` first.
// BENCH_SIZE_MIB (default 2048) sets the file size; BENCH_ZSTD_LEVEL (default 3) the level.
// Each round runs the CLI and tsimg one after the other; medians over the rounds, because
// a 2-core virtual machine varies by 20% from one run to the next.
//   node bench/checksum-compress.mjs [rounds=5]
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, openSync, rmSync, statSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventBus } from "../dist/core/event-bus.js";
import { Masker } from "../dist/core/masker.js";
import { builderArtifact } from "../dist/postprocessors/artifact.js";
import { hashFile } from "../dist/postprocessors/checksum.js";
import { compressPostProcessor } from "../dist/postprocessors/compress.js";

const rounds = Number(process.argv[2] ?? 5);
const sizeMiB = Number(process.env.BENCH_SIZE_MIB ?? 2048);
const level = Number(process.env.BENCH_ZSTD_LEVEL ?? 3);
const dir = mkdtempSync(join(tmpdir(), "tsimg-bench-"));
const file = join(dir, "disk.raw");

function makeFile() {
  const fd = openSync(file, "w");
  const block = 1024 * 1024;
  const zeros = Buffer.alloc(block);
  // 3 of every 8 MiB random, the rest zeros or repeated text: compresses to about half.
  const text = Buffer.alloc(block, "tsimg builds images ".repeat(8));
  for (let i = 0; i < sizeMiB; i++) writeSync(fd, i % 8 < 3 ? randomBytes(block) : i % 8 < 6 ? zeros : text);
  closeSync(fd);
  execFileSync("sync");
}

/**
 * Before each timed compression: no earlier output to replace (freeing 800 MB of blocks
 * measured up to 0.6 s), and no dirty pages of the last run still being written back.
 */
function settle(output) {
  rmSync(join(dir, output), { force: true });
  execFileSync("sync");
}

async function time(fn) {
  // Drop nothing from the page cache (needs root); warm it with one read so both sides read from memory.
  const t0 = process.hrtime.bigint();
  const result = await fn();
  return { secs: Number(process.hrtime.bigint() - t0) / 1e9, result };
}

const mbps = (secs) => ((sizeMiB * 1024 * 1024) / 1e6 / secs).toFixed(0);

try {
  console.log(`file: ${sizeMiB} MiB semi-compressible in ${dir}`);
  makeFile();
  execFileSync("cat", [file], { stdio: ["ignore", "ignore", "inherit"], maxBuffer: 0 }); // warm the page cache

  const events = new EventBus("bench", new Masker());
  const ctx = {
    signal: new AbortController().signal,
    events,
    outputDir: dir,
    build: { name: "bench", runUuid: "bench", startTime: Date.now() },
  };
  const input = builderArtifact({ file, format: "raw", image: { name: "bench" } });
  const times = { sha256sum: [], hash: [], zstd: [], compress: [] };
  let sizes;
  for (let round = 1; round <= rounds; round++) {
    const cli = await time(() => execFileSync("sha256sum", [file]).toString().split(" ")[0]);
    const ours = await time(() => hashFile(file, ["sha256"]).then((h) => h.sha256));
    if (cli.result !== ours.result) throw new Error(`sha256 differs: ${cli.result} vs ${ours.result}`);
    settle("cli.zst");
    const zcli = await time(() =>
      execFileSync("zstd", ["-T0", `-${level}`, "-q", "-f", file, "-o", join(dir, "cli.zst")]),
    );
    settle("ours.zst");
    const zours = await time(() =>
      compressPostProcessor.run(
        input,
        { type: "compress", format: "zst", compression_level: level, output: "ours.zst" },
        ctx,
      ),
    );
    const cliZst = join(dir, "cli.zst");
    if (execFileSync("sha256sum", [cliZst]).toString().split(" ")[0] !== zours.result.checksums.sha256)
      throw new Error("the compressed output's sha256 differs from zstd's output");
    sizes = { cli: statSync(cliZst).size, ours: zours.result.size };
    times.sha256sum.push(cli.secs);
    times.hash.push(ours.secs);
    times.zstd.push(zcli.secs);
    times.compress.push(zours.secs);
    console.log(
      `round ${round}: sha256sum ${cli.secs.toFixed(2)} s, tsimg ${ours.secs.toFixed(2)} s | zstd -T0 ${zcli.secs.toFixed(2)} s, tsimg compress (output hashed too) ${zours.secs.toFixed(2)} s`,
    );
  }
  const med = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const line = (label, cliName, cliTimes, ourTimes, note) =>
    console.log(
      `${label} ${cliName}: ${mbps(med(cliTimes))} MB/s (${med(cliTimes).toFixed(2)} s)   tsimg: ${mbps(med(ourTimes))} MB/s (${med(ourTimes).toFixed(2)} s${note})   ratio ${(med(cliTimes) / med(ourTimes)).toFixed(2)}x`,
    );
  console.log(`\nmedians of ${rounds} rounds:`);
  line("sha256  ", "sha256sum", times.sha256sum, times.hash, "");
  line(`zstd -${level} `, "zstd -T0", times.zstd, times.compress, ", output hashed too");
  console.log(
    `         output ${(sizes.cli / 1e6).toFixed(0)} MB vs ${(sizes.ours / 1e6).toFixed(0)} MB (${((sizes.ours / (sizeMiB * 1048576)) * 100).toFixed(0)}% of input)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
