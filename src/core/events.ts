// The one event stream of a build. Every consumer (CLI renderer, --json, log file,
// dashboard, GitLab reporter) reads these; nothing prints from inside the engine.

export type LogLevel = "debug" | "info" | "warn" | "error";

interface EventBase {
  /** Name of the build (the image or vm name) this event belongs to. */
  build: string;
  /** Milliseconds since the Unix epoch. */
  time: number;
}

export type BuildEvent = EventBase &
  /** `version`: the image's `[image] version`, when the template gives one. */
  (
    | { type: "build-start"; version?: string }
    | { type: "step-start"; step: string; title: string }
    | { type: "step-end"; step: string; ms: number; outcome: "ok" | "failed" | "cancelled" }
    | { type: "log"; level: LogLevel; message: string }
    /** A line the guest printed on its serial console. */
    | { type: "serial"; line: string }
    /** A PNG of the guest's console (taken with QMP screendump). */
    | { type: "screenshot"; path: string }
    /** A line a provisioner's command printed. */
    | { type: "output"; source: string; stream: "stdout" | "stderr"; line: string }
    /**
     * Something the build leaves: the disk, or the last artifact of a post-processor chain.
     * `id` is Packer's artifact ID: the main file's path, or the URL it was uploaded to.
     */
    | {
        type: "artifact";
        files: string[];
        id: string;
        /** "qemu" for the disk, else the post-processor that made it ("compress", "upload"...). */
        producer?: string;
        /** Where it was uploaded, when it was. */
        location?: string;
        /** Of files[0]: type -> hex. */
        checksums?: Record<string, string>;
      }
    | { type: "build-end"; ok: boolean; ms: number; error?: string; cancelled?: boolean }
  );

export type BuildEventType = BuildEvent["type"];
export type EventListener = (event: BuildEvent) => void;

/** Distributive Omit so callers can write `emit({ type: "log", ... })` without build/time. */
export type EventInput = BuildEvent extends infer E
  ? E extends BuildEvent
    ? Omit<E, "build" | "time">
    : never
  : never;
