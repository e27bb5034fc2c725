// -only and -except, and a provisioner's or post-processor's only/except, with Packer's
// meaning: each pattern names a build ("qemu.name", "buildname.qemu.name"; * matches any
// run of characters) and the build runs when -only names it and -except does not.

/** Whether any pattern matches any of the names (a build is known by several: "qemu.x", "b.qemu.x"). */
export function matchesAny(patterns: readonly string[], names: readonly string[]): boolean {
  return patterns.some((pattern) => {
    const regex = new RegExp(`^${pattern.split("*").map(escape).join(".*")}$`);
    return names.some((name) => regex.test(name));
  });
}

/** Whether a build known by `names` is chosen by only/except (an empty or absent `only` chooses all). */
export function isChosen(
  names: readonly string[],
  only: readonly string[] | undefined,
  except: readonly string[] | undefined,
): boolean {
  if (only && only.length > 0 && !matchesAny(only, names)) return false;
  return !(except && except.length > 0 && matchesAny(except, names));
}

function escape(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}
