// Server-Sent Events for a build's live log: the event encoding, and the stream that replays
// the log and then follows it.
//
// Encoding: in an event stream, \r\n, \r and \n all end a field, so a log line with a lone
// \r (a script's file name, a progress bar) could end its data field and start a forged one
// (`event: state`, `id: 999`). Every part of the data therefore gets its own `data:` line;
// the browser joins them back with \n.
//
// Load: twenty pages replaying a 60,000-line log, and a build printing as fast as it can,
// must not hold the event loop the webhook intake runs on. The replay reads the file in
// chunks, encodes and writes each through the Pacer (a few milliseconds of replay per turn
// of the event loop, all pages together), and waits for the socket to take each one; live
// lines are written once per turn, not one write per line.
import type { Context } from "koa";
import { PassThrough } from "node:stream";
import type { Masker } from "../index.js";
import { readableLines, type LogLine } from "./event-log.js";
import type { LogStore } from "./logs.js";
import type { Pacer } from "./pacer.js";

const FINAL = new Set(["success", "failed", "canceled"]);
const HEARTBEAT_MS = 15_000;
/** Live lines a page has not read yet, past which its stream is ended: the browser reconnects and resumes from the file, paced. */
const MAX_UNREAD_BYTES = 4 * 1024 * 1024;

/** One SSE message; data may hold any characters, id and event must not hold line breaks (they are removed). */
export function sseMessage(message: { id?: number | string; event?: string; data: string }): string {
  let out = "";
  if (message.id !== undefined) out += `id: ${oneLine(String(message.id))}\n`;
  if (message.event !== undefined) out += `event: ${oneLine(message.event)}\n`;
  for (const part of message.data.split(/\r\n|\r|\n/)) out += `data: ${part}\n`;
  return `${out}\n`;
}

/** A field value with no line break and no NUL (a NUL in `id` makes browsers ignore the field). */
function oneLine(text: string): string {
  return text.replace(/[\r\n\0]/g, " ");
}

/** What the stream reads. */
export interface LogStreamDeps {
  logs: LogStore;
  /** The build's current state; undefined when it does not exist. */
  state: (id: number) => string | undefined;
  masker: Masker;
  /** Shares the event loop between all replays and the rest of serve. */
  pacer: Pacer;
}

/** Answers ctx with the build's log as SSE: the lines after Last-Event-ID, then live lines and state changes until the build ends. */
export function streamLog(ctx: Context, id: number, deps: LogStreamDeps): void {
  const last = Number(ctx.get("Last-Event-ID") || ctx.query.lastEventId || 0);
  const after = Number.isInteger(last) && last > 0 ? last : 0;
  const stream = new PassThrough();
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.set({ "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" });
  ctx.status = 200;
  ctx.body = stream;

  let closed = false;
  const gone = new Promise<void>((resolve) => ctx.req.once("close", resolve));
  let sent = after;
  // Text encoded but not written yet: written together once per turn of the event loop.
  let out = "";
  let writeScheduled = false;
  // Set by a final state: the stream ends once that state is written.
  let ending = false;
  const writeOut = () => {
    writeScheduled = false;
    if (closed) return;
    stream.write(out);
    out = "";
    if (ending || stream.writableLength > MAX_UNREAD_BYTES) stop();
  };
  const queue = (text: string) => {
    out += text;
    if (!writeScheduled) {
      writeScheduled = true;
      setImmediate(writeOut);
    }
  };
  const encodeLines = (lines: readonly LogLine[]) => {
    let text = "";
    for (const line of readableLines(lines, deps.masker)) {
      if (line.seq <= sent) continue;
      sent = line.seq;
      text += sseMessage({ id: line.seq, data: line.text });
    }
    return text;
  };
  const sendState = (state: string) => {
    queue(sseMessage({ event: "state", data: JSON.stringify({ state }) }));
    if (FINAL.has(state)) ending = true;
  };

  // Follow first, then replay the file: a line appended in between is sent once.
  const live: LogLine[] = [];
  let replaying = true;
  const unfollow = deps.logs.follow(id, (entry) => {
    if (entry.kind === "state") {
      // During the replay a state change is not sent: the replay ends with the state as it is then.
      if (!replaying) sendState(entry.state);
    } else if (replaying) live.push(entry);
    else queue(encodeLines([entry]));
  });
  const heartbeat = setInterval(() => queue(": keep-alive\n\n"), HEARTBEAT_MS);
  const stop = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    unfollow();
    stream.end();
  };
  void gone.then(stop);

  void (async () => {
    stream.write("retry: 1000\n\n");
    for await (const lines of deps.logs.chunks(id, after)) {
      if (closed) return;
      // One chunk at a time, when the pacer gives it a turn, and only as fast as the client takes them.
      const more = await deps.pacer.run(() => !closed && stream.write(encodeLines(lines)));
      if (!more) await Promise.race([new Promise((resolve) => stream.once("drain", resolve)), gone]);
    }
    if (closed) return;
    replaying = false;
    queue(encodeLines(live));
    live.length = 0;
    sendState(deps.state(id) ?? "unknown");
  })().catch(stop);
}
