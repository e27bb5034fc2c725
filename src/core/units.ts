// Sizes ("40G", "40960M") and durations ("1500s", "120m", "1h30m") as Packer writes them.

const SIZE_UNITS: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/**
 * Parses a disk or memory size into MiB; a bare number means MiB (Packer's disk_size).
 * Undefined if malformed or negative; 0 is returned as 0, for the caller to refuse by name.
 */
export function parseSizeMiB(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGT])(?:i?B)?\s*$/i.exec(value) ?? /^\s*(\d+)\s*$/.exec(value);
  if (!match) return undefined;
  const unit = SIZE_UNITS[(match[2] ?? "M").toUpperCase()] ?? 1;
  // Huge values stay numbers (not "malformed"), so the caller can say what the limit is.
  const mib = Math.ceil(Number(match[1]) * unit);
  return Number.isFinite(mib) ? mib : undefined;
}

/** MiB in the largest unit that divides them: 67108864 -> "64T", 1536 -> "1536M". */
export function formatSizeMiB(mib: number): string {
  for (const [unit, size] of [
    ["T", 1024 * 1024],
    ["G", 1024],
  ] as const)
    if (mib >= size && mib % size === 0) return `${mib / size}${unit}`;
  return `${mib}M`;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration ("1h30m", "500ms", "10s") into milliseconds. Undefined if malformed. */
export function parseDurationMs(value: string): number | undefined {
  const text = value.trim();
  if (text === "0") return 0;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < text.length) {
    part.lastIndex = index;
    const match = part.exec(text);
    if (!match) return undefined;
    total += Number(match[1]) * (DURATION_UNITS[match[2] as string] ?? 0);
    index = part.lastIndex;
  }
  return index > 0 ? Math.round(total) : undefined;
}

/** "1m30s", "850ms": durations for humans. */
export function formatDuration(ms: number): string {
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  // Round before splitting, so 119.5 s is "2m00s", not "1m60s" (and 59.96 s not "60.0s").
  if (Math.round(ms / 100) < 600) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
}
