import type { BuildEvent, EventInput, EventListener, LogLevel } from "./events.js";
import type { Masker } from "./masker.js";

/** Publishes a build's events to listeners, masking secrets in every string field first. */
export class EventBus {
  private listeners = new Set<EventListener>();

  constructor(
    readonly build: string,
    private readonly masker: Masker,
  ) {}

  /** Adds a listener; returns a function that removes it. */
  on(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(input: EventInput): void {
    const event = { ...input, build: this.build, time: Date.now() } as BuildEvent;
    const masked = maskFields(event, this.masker);
    for (const listener of this.listeners) {
      try {
        listener(masked);
      } catch {
        // A broken consumer must not break the build.
      }
    }
  }

  log(level: LogLevel, message: string): void {
    this.emit({ type: "log", level, message });
  }
  info(message: string): void {
    this.log("info", message);
  }
  warn(message: string): void {
    this.log("warn", message);
  }
  debug(message: string): void {
    this.log("debug", message);
  }
}

/** The event with every string in it masked, at any depth (artifact checksums are a table). */
export function maskFields(event: BuildEvent, masker: Masker): BuildEvent {
  return maskValue(event, masker) as BuildEvent;
}

function maskValue(value: unknown, masker: Masker): unknown {
  if (typeof value === "string") return masker.mask(value);
  if (Array.isArray(value)) return value.map((v) => maskValue(v, masker));
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(v, masker)]));
  return value;
}
