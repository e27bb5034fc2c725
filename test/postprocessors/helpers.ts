// Shared by the post-processor tests: a context with a recording event bus, temp dirs,
// and a semi-compressible file.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventBus } from "../../src/core/event-bus.js";
import type { BuildEvent } from "../../src/core/events.js";
import { Masker } from "../../src/core/masker.js";
import { builderArtifact, type Artifact } from "../../src/postprocessors/artifact.js";
import type { PostProcessorContext } from "../../src/postprocessors/types.js";

export interface TestCtx extends PostProcessorContext {
  recorded: BuildEvent[];
  logs: () => string[];
}

export function makeCtx(outputDir: string, extra: Partial<PostProcessorContext> = {}): TestCtx {
  const events = new EventBus("tiny", new Masker());
  const recorded: BuildEvent[] = [];
  events.on((e) => recorded.push(e));
  return {
    signal: new AbortController().signal,
    events,
    outputDir,
    build: { name: "tiny", runUuid: randomUUID(), startTime: Date.now() },
    progressIntervalMs: 0,
    ...extra,
    recorded,
    logs: () => recorded.flatMap((e) => (e.type === "log" ? [e.message] : [])),
  };
}

export async function tempDir(): Promise<{ dir: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "tsimg-pp-"));
  return { dir, done: () => rm(dir, { recursive: true, force: true }) };
}

/** Blocks of random bytes and zeros, like a disk image. */
export function semiCompressible(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let off = 0; off < bytes; off += 128 * 1024) {
    if ((off / (128 * 1024)) % 2 === 0) randomBytes(Math.min(64 * 1024, bytes - off)).copy(out, off);
  }
  return out;
}

export async function diskArtifact(dir: string, bytes = 1024 * 1024, name = "tiny.qcow2"): Promise<Artifact> {
  const file = join(dir, name);
  await writeFile(file, semiCompressible(bytes));
  return builderArtifact({
    file,
    format: "qcow2",
    size: bytes,
    image: { name: "tiny", version: "1.2.3", os_type: "linux" },
  });
}
