import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { QemuError } from "../../src/core/errors.js";
import { QmpClient, type QmpEvent } from "../../src/qemu/qmp.js";

const GREETING = { QMP: { version: { qemu: { micro: 0, minor: 2, major: 8 }, package: "" }, capabilities: ["oob"] } };

type Reply = { return: unknown } | { error: { class: string; desc?: string } } | "hold" | "hang-up";

/**
 * A fake QEMU monitor: greets, accepts qmp_capabilities, answers other commands from
 * `replies`, and records every command it received.
 */
class FakeQmp {
  readonly received: Record<string, unknown>[] = [];
  readonly sockets: net.Socket[] = [];
  private server: net.Server;
  readonly path: string;

  constructor(
    private readonly dir: string,
    private readonly replies: Record<string, Reply> = {},
    private readonly options: { greet?: boolean; acceptCapabilities?: boolean } = {},
  ) {
    this.path = join(dir, "qmp.sock");
    this.server = net.createServer((socket) => this.accept(socket));
  }

  listen(): Promise<this> {
    return new Promise((resolve) => this.server.listen(this.path, () => resolve(this)));
  }

  private accept(socket: net.Socket): void {
    this.sockets.push(socket);
    socket.setEncoding("utf8");
    if (this.options.greet !== false) socket.write(JSON.stringify(GREETING) + "\r\n");
    let buffer = "";
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const message = JSON.parse(buffer.slice(0, newline)) as { execute: string };
        buffer = buffer.slice(newline + 1);
        this.received.push(message);
        const reply: Reply =
          message.execute === "qmp_capabilities" && this.options.acceptCapabilities !== false
            ? { return: {} }
            : (this.replies[message.execute] ?? {
                error: { class: "CommandNotFound", desc: `The command ${message.execute} has not been found` },
              });
        if (reply === "hang-up") socket.destroy();
        else if (reply !== "hold") socket.write(JSON.stringify(reply) + "\r\n");
      }
    });
  }

  /** Sends an asynchronous event to every client. */
  emitEvent(event: QmpEvent): void {
    for (const socket of this.sockets) socket.write(JSON.stringify(event) + "\r\n");
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startFake(
  replies: Record<string, Reply> = {},
  options: { greet?: boolean; acceptCapabilities?: boolean } = {},
): Promise<FakeQmp> {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-qmp-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const fake = await new FakeQmp(dir, replies, options).listen();
  cleanups.push(() => fake.close());
  return fake;
}

async function connect(fake: FakeQmp): Promise<QmpClient> {
  const client = await QmpClient.connect(fake.path);
  cleanups.push(() => client.close());
  return client;
}

describe("QmpClient", () => {
  test("connect reads the greeting and negotiates capabilities", async () => {
    const fake = await startFake();
    const client = await connect(fake);
    expect(fake.received).toEqual([{ execute: "qmp_capabilities" }]);
    expect(client.isClosed).toBe(false);
  });

  test("execute sends the command with its arguments and resolves with the return value", async () => {
    const fake = await startFake({
      "query-status": { return: { running: true, status: "running" } },
      "send-key": { return: {} },
    });
    const client = await connect(fake);
    await expect(client.execute("query-status")).resolves.toEqual({ running: true, status: "running" });
    await expect(client.execute("send-key", { keys: [{ type: "qcode", data: "ret" }] })).resolves.toEqual({});
    expect(fake.received.slice(1)).toEqual([
      { execute: "query-status" },
      { execute: "send-key", arguments: { keys: [{ type: "qcode", data: "ret" }] } },
    ]);
  });

  test("replies are matched to commands in order", async () => {
    const fake = await startFake({
      a: { return: 1 },
      b: { error: { class: "GenericError", desc: "no b" } },
      c: { return: 3 },
    });
    const client = await connect(fake);
    const results = await Promise.allSettled([client.execute("a"), client.execute("b"), client.execute("c")]);
    expect(results).toEqual([
      { status: "fulfilled", value: 1 },
      { status: "rejected", reason: new QemuError("QMP b failed: no b") },
      { status: "fulfilled", value: 3 },
    ]);
  });

  test.each<[string, { class: string; desc?: string }, string]>([
    [
      "the description",
      { class: "GenericError", desc: "Invalid parameter 'ret2'" },
      "QMP send-key failed: Invalid parameter 'ret2'",
    ],
    ["the class when there is no description", { class: "DeviceNotActive" }, "QMP send-key failed: DeviceNotActive"],
  ])("an error reply rejects with a QemuError naming the command and %s", async (_, error, message) => {
    const fake = await startFake({ "send-key": { error } });
    const client = await connect(fake);
    const result = client.execute("send-key", { keys: [] });
    await expect(result).rejects.toBeInstanceOf(QemuError);
    await expect(result).rejects.toThrow(new QemuError(message));
  });

  test("events are emitted", async () => {
    const fake = await startFake();
    const client = await connect(fake);
    const event = new Promise<QmpEvent>((resolve) => client.once("event", resolve));
    const shutdown: QmpEvent = {
      event: "SHUTDOWN",
      data: { guest: true, reason: "guest-shutdown" },
      timestamp: { seconds: 1700000000, microseconds: 5 },
    };
    fake.emitEvent(shutdown);
    await expect(event).resolves.toEqual(shutdown);
  });

  test("an event between a command and its reply does not take the reply", async () => {
    const fake = await startFake({ "query-status": "hold" });
    const client = await connect(fake);
    const events: string[] = [];
    client.on("event", (e: QmpEvent) => events.push(e.event));
    const pending = client.execute("query-status");
    await waitFor(() => fake.received.length === 2);
    fake.emitEvent({ event: "RESUME" });
    fake.sockets[0]?.write(JSON.stringify({ return: { status: "running" } }) + "\n");
    await expect(pending).resolves.toEqual({ status: "running" });
    expect(events).toEqual(["RESUME"]);
  });

  test("pending commands reject when QEMU closes the connection, and later commands reject at once", async () => {
    const fake = await startFake({ "query-status": "hold", system_powerdown: "hang-up" });
    const client = await connect(fake);
    const closed = new Promise<void>((resolve) => client.once("close", resolve));
    const first = client.execute("query-status");
    const second = client.execute("system_powerdown");
    await expect(first).rejects.toThrow(new QemuError("QMP query-status: QEMU closed the connection"));
    await expect(second).rejects.toThrow(new QemuError("QMP system_powerdown: QEMU closed the connection"));
    await closed;
    expect(client.isClosed).toBe(true);
    await expect(client.execute("quit")).rejects.toThrow(new QemuError("QMP quit: connection to QEMU is closed"));
  });

  test("close() rejects pending commands", async () => {
    const fake = await startFake({ "query-status": "hold" });
    const client = await connect(fake);
    const pending = client.execute("query-status");
    client.close();
    await expect(pending).rejects.toThrow(new QemuError("QMP query-status: QEMU closed the connection"));
  });

  test("connect fails when the socket closes before the greeting", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsimg-qmp-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "qmp.sock");
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(path, () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await expect(QmpClient.connect(path)).rejects.toThrow(new QemuError("QMP socket closed before greeting"));
  });

  test("connect fails when capabilities are refused", async () => {
    const fake = await startFake(
      {
        qmp_capabilities: { error: { class: "CommandNotFound", desc: "Capabilities negotiation is already complete" } },
      },
      { acceptCapabilities: false },
    );
    await expect(QmpClient.connect(fake.path)).rejects.toThrow(
      new QemuError("QMP qmp_capabilities failed: Capabilities negotiation is already complete"),
    );
  });

  test("connect fails when nothing listens on the socket", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsimg-qmp-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    await expect(QmpClient.connect(join(dir, "absent.sock"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
