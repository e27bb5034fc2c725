/** A wrong command line: printed as one line, exit code 2. Kept apart so main.ts stays light. */
export class UsageError extends Error {}
