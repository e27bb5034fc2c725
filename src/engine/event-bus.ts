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

function maskFields(event: BuildEvent, masker: Masker): BuildEvent {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (typeof value === "string") out[key] = masker.mask(value);
    else if (Array.isArray(value)) out[key] = value.map((v) => (typeof v === "string" ? masker.mask(v) : v));
    else out[key] = value;
  }
  return out as unknown as BuildEvent;
}
