import { describe, expect, test } from "vitest";
import { formatDuration, formatSizeMiB, parseDurationMs, parseSizeMiB } from "../../src/core/units.js";

describe("parseSizeMiB", () => {
  test.each<[string | number, number | undefined]>([
    ["40G", 40_960],
    ["40960M", 40_960],
    ["512M", 512],
    ["512m", 512],
    ["40GiB", 40_960],
    ["40gb", 40_960],
    ["1.5G", 1536],
    ["1T", 1_048_576],
    ["2048K", 2],
    ["1K", 1],
    [" 8G ", 8192],
    ["1500", 1500],
    [512, 512],
    ["40 gigs", undefined],
    ["5x", undefined],
    ["40 GB extra", undefined],
    ["G", undefined],
    ["", undefined],
    // 0 parses, so validation can say "must be at least 1M" rather than "expected a size".
    ["0", 0],
    ["0G", 0],
    ["100T", 104_857_600],
    ["-1G", undefined],
    ["1.5", undefined],
    [0, 0],
    [-512, undefined],
    [1.5, undefined],
  ])("%j -> %j", (input, expected) => {
    expect(parseSizeMiB(input)).toBe(expected);
  });
});

describe("formatSizeMiB", () => {
  test.each<[number, string]>([
    [67_108_864, "64T"],
    [1_048_576, "1T"],
    [40_960, "40G"],
    [1536, "1536M"],
    [1, "1M"],
  ])("%j -> %j", (mib, expected) => {
    expect(formatSizeMiB(mib)).toBe(expected);
  });
});

describe("parseDurationMs", () => {
  test.each<[string, number | undefined]>([
    ["10s", 10_000],
    ["500ms", 500],
    ["5m", 300_000],
    ["5ms", 5],
    ["2h", 7_200_000],
    ["1h30m", 5_400_000],
    ["1m5s", 65_000],
    ["1.5s", 1500],
    ["0.5m", 30_000],
    [" 20ms ", 20],
    ["0", 0],
    ["0s", 0],
    ["1500", undefined],
    ["5x", undefined],
    ["40 gigs", undefined],
    ["10 s", undefined],
    ["1m30", undefined],
    ["-5s", undefined],
    ["s", undefined],
    ["", undefined],
  ])("%j -> %j", (input, expected) => {
    expect(parseDurationMs(input)).toBe(expected);
  });
});

describe("formatDuration", () => {
  test.each<[number, string]>([
    [0, "0ms"],
    [850, "850ms"],
    [999.4, "999ms"],
    [999.6, "1.0s"],
    [1000, "1.0s"],
    [1540, "1.5s"],
    [59_940, "59.9s"],
    [59_960, "1m00s"],
    [60_000, "1m00s"],
    [90_000, "1m30s"],
    [119_400, "1m59s"],
    [119_500, "2m00s"],
    [3_599_999, "60m00s"],
    [5_400_000, "90m00s"],
  ])("%d ms -> %s", (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });
});
