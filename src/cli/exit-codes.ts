// tsimg's exit codes (docs/cli.md): 2 for usage and template errors, 128 + n for a signal.
export const EXIT = { ok: 0, failed: 1, usage: 2, config: 2, sigint: 130, sigterm: 143 } as const;
