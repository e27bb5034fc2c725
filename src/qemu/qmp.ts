// A small QMP client: one JSON object per line over a Unix socket. Commands are
// answered in order, so replies are matched to a FIFO of pending requests.
import { EventEmitter } from "node:events";
import net from "node:net";
import { QemuError } from "../core/errors.js";

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** A connected QMP session. Emits "event" (QmpEvent) and "close". */
export class QmpClient extends EventEmitter {
  private buffer = "";
  private pending: Pending[] = [];
  private closed = false;

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("close", () => this.onClose());
    socket.on("error", () => {
      /* "close" follows and rejects what is pending */
    });
  }

  /** Connects to a QMP socket, reads the greeting and negotiates capabilities. */
  static async connect(path: string): Promise<QmpClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection(path);
      s.once("connect", () => resolve(s));
      s.once("error", reject);
    });
    const client = new QmpClient(socket);
    await client.greeting();
    await client.execute("qmp_capabilities");
    return client;
  }

  private greetingWaiter: ((ok: boolean) => void) | undefined;

  private greeting(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.greetingWaiter = (ok) => (ok ? resolve() : reject(new QemuError("QMP socket closed before greeting")));
    });
  }

  /** Sends a command and resolves with its `return` value; rejects with QEMU's error description. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new QemuError(`QMP ${command}: connection to QEMU is closed`));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ command, resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + "\n");
    });
  }

  /** Closes the socket; pending commands reject. */
  close(): void {
    this.socket.destroy();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line) this.onMessage(JSON.parse(line) as Record<string, unknown>);
    }
  }

  private onMessage(message: Record<string, unknown>): void {
    if ("QMP" in message) {
      this.greetingWaiter?.(true);
      this.greetingWaiter = undefined;
    } else if ("event" in message) {
      this.emit("event", message as Record<string, unknown> & QmpEvent);
    } else if ("return" in message || "error" in message) {
      const request = this.pending.shift();
      if (!request) return;
      if ("error" in message) {
        const error = message.error as { class?: string; desc?: string };
        request.reject(new QemuError(`QMP ${request.command} failed: ${error.desc ?? error.class ?? "unknown error"}`));
      } else {
        request.resolve(message.return);
      }
    }
  }

  private onClose(): void {
    this.closed = true;
    this.greetingWaiter?.(false);
    for (const request of this.pending.splice(0)) {
      request.reject(new QemuError(`QMP ${request.command}: QEMU closed the connection`));
    }
    this.emit("close");
  }
}
