// Checksum and compression throughput of tsimg's post-processors against the CLIs they
// compete with (sha256sum, zstd -T0), on a semi-compressible file (random and zero blocks,
// like a disk image). Prints MB/s and ratios; never asserts. Run `npm run build` first.
// BENCH_SIZE_MIB (default 2048) sets the file size; BENCH_ZSTD_LEVEL (default 3) the level.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, openSync, rmSync, statSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventBus } from "../dist/engine/event-bus.js";
import { Masker } from "../dist/engine/masker.js";
import { builderArtifact } from "../dist/postprocessors/artifact.js";
import { hashFile } from "../dist/postprocessors/checksum.js";
import { compressPostProcessor } from "../dist/postprocessors/compress.js";

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

  const cli = await time(() => execFileSync("sha256sum", [file]).toString().split(" ")[0]);
  const ours = await time(() => hashFile(file, ["sha256"]).then((h) => h.sha256));
  if (cli.result !== ours.result) throw new Error(`sha256 differs: ${cli.result} vs ${ours.result}`);
  console.log(`sha256   sha256sum: ${mbps(cli.secs)} MB/s (${cli.secs.toFixed(2)} s)   tsimg: ${mbps(ours.secs)} MB/s (${ours.secs.toFixed(2)} s)   ratio ${(cli.secs / ours.secs).toFixed(2)}x`);

  const zcli = await time(() => execFileSync("zstd", ["-T0", `-${level}`, "-q", "-f", file, "-o", join(dir, "cli.zst")]));
  const events = new EventBus("bench", new Masker());
  const ctx = { signal: new AbortController().signal, events, outputDir: dir, build: { name: "bench", runUuid: "bench", startTime: Date.now() } };
  const input = builderArtifact({ file, format: "raw", image: { name: "bench" } });
  const zours = await time(() => compressPostProcessor.run(input, { type: "compress", format: "zst", compression_level: level, output: "ours.zst" }, ctx));
  const cliSize = statSync(join(dir, "cli.zst")).size;
  console.log(
    `zstd -${level}  zstd -T0: ${mbps(zcli.secs)} MB/s (${zcli.secs.toFixed(2)} s)   tsimg: ${mbps(zours.secs)} MB/s (${zours.secs.toFixed(2)} s, output hashed too)   ratio ${(zcli.secs / zours.secs).toFixed(2)}x`,
  );
  console.log(`         output ${(cliSize / 1e6).toFixed(0)} MB vs ${(zours.result.size / 1e6).toFixed(0)} MB (${((zours.result.size / (sizeMiB * 1048576)) * 100).toFixed(0)}% of input)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
