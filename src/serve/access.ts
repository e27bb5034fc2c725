// Who may make serve build what: the decisions, apart from the calls that feed them. A
// build runs a merge request's code on the build host, so every path that starts one must
// pass through here: a project in allowed_projects, a person with min_access_level now
// (not earlier: a push adds code no one with that level has asked to build), and, for a
// fork, the very commit that person saw.

/** GitLab's role names (Gitlab::Access). */
const ROLE: Record<number, string> = {
  5: "Minimal Access",
  10: "Guest",
  15: "Planner",
  20: "Reporter",
  30: "Developer",
  40: "Maintainer",
  50: "Owner",
};

/** "Developer access", "Minimal Access", "no access", "level 35 access". */
export function accessText(level: number): string {
  if (level <= 0) return "no access";
  const role = ROLE[level] ?? `level ${level}`;
  return role.endsWith(" Access") ? role : `${role} access`;
}

/** Whether a delivery's project is one serve acts for: its id or its path is in allowed_projects. */
export function isAllowedProject(
  allowed: readonly string[],
  projectId: number,
  project?: { path_with_namespace?: unknown },
): boolean {
  if (Number.isInteger(projectId) && projectId > 0 && allowed.includes(String(projectId))) return true;
  const path = project?.path_with_namespace;
  return typeof path === "string" && allowed.includes(path);
}

/** A merge request whose source is another project; unknown ids count as a fork (the safe side). */
export function isFork(sourceProjectId: unknown, targetProjectId: unknown): boolean {
  return !(Number.isInteger(sourceProjectId) && sourceProjectId === targetProjectId);
}

/** The note refusing a commenter below min_access_level. */
export function refusal(minLevel: number, level: number): string {
  const has = level <= 0 ? "you have no access to this project" : `you have ${accessText(level)}`;
  return `Sorry, only project members with ${accessText(minLevel)} or higher can run tsimg commands; ${has}. No build was started.`;
}
