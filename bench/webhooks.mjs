// Load test of serve's webhook intake: 1,000 deliveries (mixed events, 10% duplicates),
// 50 at a time, against a GitLab stand-in, with a fake build. Prints p50/p99 response
// latency, builds queued, and deliveries lost. Starts no VM. Run: npx tsx bench/webhooks.mjs
import { startServer } from "../src/serve/server.ts";
import { GitLabStandIn, PROJECT_ID, deliver, fakeBuild, makeRepo, notePayload, pushPayload, testConfig } from "../test/unit/serve-helpers.ts";

const TOTAL = 1000, CONCURRENCY = 50, DUP_RATE = 0.1;
const gitlab = await new GitLabStandIn().start();
const repo = makeRepo();
for (let iid = 1; iid <= 200; iid++) gitlab.mrs.set(iid, { state: "opened", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
const server = await startServer(testConfig(gitlab.url, undefined, { concurrency: 4 }), { buildFunction: fakeBuild({ lines: 2 }), onError: () => {} });

// Unique deliveries: build commands (expected to queue one build each), comment edits,
// chatter, help requests, unsupported events, pushes without oldrev.
let seq = 0;
const unique = [];
const expectedBuilds = new Set();
while (unique.length < Math.round(TOTAL * (1 - DUP_RATE))) {
  const n = ++seq, iid = 1 + (n % 200), kind = n % 6;
  if (kind === 0 || kind === 1) {
    unique.push({ event: "Note Hook", payload: notePayload({ note: "/tsimg build tinyos", noteId: 10_000 + n, iid, repo: repo.dir, sha: repo.sha }), key: `k-${n}` });
    expectedBuilds.add(n);
  } else if (kind === 2) unique.push({ event: "Note Hook", payload: notePayload({ note: "/tsimg build tinyos", noteId: 10_000 + n, iid, action: "update", repo: repo.dir, sha: repo.sha }), key: `k-${n}` });
  else if (kind === 3) unique.push({ event: "Note Hook", payload: notePayload({ note: "looks good to me", noteId: 10_000 + n, iid, repo: repo.dir, sha: repo.sha }), key: `k-${n}` });
  else if (kind === 4) unique.push({ event: "Push Hook", payload: { object_kind: "push" }, key: `k-${n}` });
  else unique.push({ event: "Merge Request Hook", payload: pushPayload({ iid, oldrev: "", sha: repo.sha, repo: repo.dir }), key: `k-${n}` });
}
const dups = Array.from({ length: TOTAL - unique.length }, (_, i) => unique[(i * 7) % unique.length]);
const all = [...unique, ...dups].sort(() => Math.random() - 0.5);

const latencies = [];
let lost = 0, index = 0;
const statuses = {};
async function worker() {
  while (index < all.length) {
    const d = all[index++];
    try {
      const r = await deliver(server.url, d.payload, { event: d.event, key: d.key });
      latencies.push(r.ms);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status >= 300) lost++;
    } catch {
      lost++;
    }
  }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
const wall = performance.now() - t0;
await server.service.idle();
const builds = server.store.listBuilds(100_000);
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(1);
console.log(`deliveries: ${all.length} (${unique.length} unique, ${dups.length} duplicates), ${CONCURRENCY} concurrent, ${wall.toFixed(0)} ms wall`);
console.log(`answers: ${JSON.stringify(statuses)}`);
console.log(`latency: p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${latencies.at(-1).toFixed(1)} ms`);
console.log(`builds queued: ${builds.length} (expected ${expectedBuilds.size}: one per unique build request)`);
console.log(`deliveries lost: ${lost}`);
await server.close();
await gitlab.close();
