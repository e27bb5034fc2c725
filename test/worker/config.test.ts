// serve.toml's [queue], worker.toml, and the words a waiting build's log gets.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseServeConfig } from "../../src/serve/config.js";
import { labelsFor } from "../../src/serve/queue-config.js";
import { queueName } from "../../src/serve/queue-protocol.js";
import { whyWaiting, type WorkerView } from "../../src/serve/queue-workers.js";
import { loadWorkerConfig } from "../../src/worker/config.js";

const dir = mkdtempSync(join(tmpdir(), "tsimg-queue-config-"));
const secret = (name: string, value: string) => {
  writeFileSync(join(dir, name), `${value}\n`, { mode: 0o600 });
  return join(dir, name);
};
const ENV = {
  TSIMG_GITLAB_TOKEN_FILE: secret("gitlab", "glpat-token-123456"),
  TSIMG_WEBHOOK_SECRET_FILE: secret("hook", "hook-secret-123456"),
  TSIMG_REDIS_PASSWORD_FILE: secret("redis", "redis-password-123456"),
};
const BASE = { gitlab_url: "https://gitlab.example.com", allowed_projects: [7], dashboard_open: true };

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    return (error as { details?: string[] }).details ?? [(error as Error).message];
  }
  return [];
}

describe("serve.toml [queue]", () => {
  it("is absent by default: builds run in serve's process", () => {
    expect(parseServeConfig(BASE, "/srv", ENV).queue).toBeUndefined();
  });

  it("reads Redis's URL, ACL user, TLS, lock time and each image's labels; the password from its file, masked with serve's secrets", () => {
    const config = parseServeConfig(
      {
        ...BASE,
        queue: {
          redis_url: "rediss://redis.example.com:6380",
          username: "tsimg-serve",
          lock_time: 20,
          image_labels: { "*": ["x86_64"], rocky9: ["kvm", "efi"] },
        },
      },
      "/srv",
      ENV,
    );
    expect(config.queue).toEqual({
      redis: {
        url: "rediss://redis.example.com:6380",
        username: "tsimg-serve",
        password: "redis-password-123456",
        tls: false,
      },
      lockMs: 20_000,
      imageLabels: { "*": ["x86_64"], rocky9: ["kvm", "efi"] },
    });
    expect(config.secrets.redisPassword).toBe("redis-password-123456");
    expect(labelsFor(config.queue!, "rocky9")).toEqual(["efi", "kvm", "x86_64"]);
    expect(queueName(labelsFor(config.queue!, "rocky9"))).toBe("builds+efi+kvm+x86_64");
    expect(queueName(labelsFor(config.queue!, "tinyos"))).toBe("builds+x86_64");
  });

  it("names each problem: a password in the URL, a bad label, an unknown key, a lock time out of range", () => {
    const found = problems(() =>
      parseServeConfig(
        {
          ...BASE,
          queue: {
            redis_url: "redis://user:pw@redis:6379",
            lock_time: 1,
            image_labels: { rocky9: ["KVM"] },
            password: "x",
          },
        },
        "/srv",
        ENV,
      ),
    );
    expect(found).toEqual([
      'unknown key "queue.password"; known keys are redis_url, username, tls, ca_file, sentinels, sentinel_name, lock_time, image_labels',
      '"queue.redis_url" holds a user or password: set "queue.username" and put the password in a file named by TSIMG_REDIS_PASSWORD_FILE',
      'expected "queue.lock_time" to be whole seconds from 2 to 3600, got 1',
      'expected "queue.image_labels.rocky9" to be a list of labels like ["kvm", "efi"] (lower case, digits, . _ -), got ["KVM"]',
    ]);
  });
});

describe("worker.toml", () => {
  const file = (text: string) => {
    const path = join(mkdtempSync(join(tmpdir(), "tsimg-worker-toml-")), "worker.toml");
    writeFileSync(path, text);
    return path;
  };

  it("fills the defaults next to the file, and takes post-processor credentials from the worker's environment", () => {
    const path = file(
      'name = "build-01"\nredis_url = "redis://redis:6379"\nlabels = ["kvm", "efi"]\nbuild_env = ["AWS_ACCESS_KEY_ID"]\n',
    );
    const config = loadWorkerConfig(path, { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE" });
    expect(config).toMatchObject({
      name: "build-01",
      redis: { url: "redis://redis:6379", tls: false },
      slots: 1,
      labels: ["efi", "kvm"],
      workDir: join(path, "..", "tsimg-worker/work"),
      cacheDir: join(path, "..", "tsimg-worker/cache"),
      buildEnv: { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE" },
      onSigterm: "finish",
    });
  });

  it("refuses to run with serve's GitLab token or webhook secret in its environment", () => {
    const path = file('redis_url = "redis://redis:6379"\n');
    expect(problems(() => loadWorkerConfig(path, { TSIMG_GITLAB_TOKEN_FILE: "/etc/tsimg/token" }))).toEqual([
      "TSIMG_GITLAB_TOKEN_FILE is set: a worker never holds serve's secrets (serve does every GitLab call); unset it",
    ]);
  });

  it("names each problem", () => {
    const path = file('redis_url = "http://redis"\nslots = 0\nlabels = ["Kvm"]\non_sigterm = "wait"\ncolour = 1\n');
    expect(problems(() => loadWorkerConfig(path, {}))).toEqual([
      'unknown key "colour"; known keys are redis_url, username, tls, ca_file, sentinels, sentinel_name, name, slots, labels, work_dir, cache_dir, build_user, build_env, on_sigterm',
      'expected "redis_url" to be a URL like redis://redis.example.com:6379, got "http://redis"',
      'expected "slots" to be a whole number from 1 to 64, got 0',
      'expected "labels" to be a list like ["kvm", "efi", "x86_64"] (lower case, digits, . _ -), got ["Kvm"]',
      'expected "on_sigterm" to be "finish" or "cancel", got "wait"',
    ]);
  });
});

describe("why a build waits", () => {
  const worker = (name: string, labels: string[], extra: Partial<WorkerView> = {}): WorkerView => ({
    name,
    labels,
    slots: 1,
    busy: [1],
    draining: false,
    heartbeat: 0,
    gone: false,
    ...extra,
  });
  it.each([
    [[], [], "waiting for a worker: none is connected (the build needs no labels)"],
    [
      ["kvm"],
      [worker("a", ["x86_64"])],
      "waiting for a worker with labels kvm: none of the 1 connected worker has them",
    ],
    [
      ["kvm"],
      [worker("a", ["kvm"], { gone: true })],
      "waiting for a worker: none is connected (the build needs labels kvm)",
    ],
    [
      ["kvm"],
      [worker("a", ["kvm"]), worker("b", ["kvm", "efi"], { slots: 2 })],
      "waiting for a free slot: 2 workers with labels kvm, all 3 slots busy",
    ],
  ] as const)("%j with %# workers", (labels, workers, text) => {
    expect(whyWaiting(labels, workers)).toBe(text);
  });
});
