// Which images a repository holds, by serve.toml's `image_globs`: TOML templates
// (`images/*.toml`, an image per file) and Packer folders (`packer/*/*.pkr.hcl` or .pkr.json, an image per
// folder, named after it and loaded as Packer loads a folder). A glob is matched segment by
// segment and `*` never crosses a "/", so a name is always one path segment, and only names
// a comment can name (IMAGE_NAME) become images.
import { readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { IMAGE_NAME } from "./commands.js";

export const DEFAULT_IMAGE_GLOBS = defaultImageGlobs("images");

/** image_globs when serve.toml has none: TOML templates in images_dir, Packer folders in packer/. */
export function defaultImageGlobs(imagesDir: string): string[] {
  return [`${imagesDir}/*.toml`, "packer/*/*.pkr.hcl", "packer/*/*.pkr.json"];
}

/** One image: its name, and the template to load (a .toml file, or a Packer folder), relative to the repository. */
export interface DiscoveredImage {
  name: string;
  template: string;
  /** What a change must touch to concern this image: the template file, or files under this folder. */
  files: { exact?: string; under: string };
}

/** A glob serve.toml may hold: relative, "/"-separated, no "..", only `*` as a wildcard. */
export function checkImageGlob(glob: string): string | undefined {
  if (glob.startsWith("/") || glob.split("/").some((s) => s === ".." || s === "." || s === ""))
    return `expected a path inside the repository like "packer/*/*.pkr.hcl", got ${JSON.stringify(glob)}`;
  if (/[?[\]{}\\]/.test(glob)) return `only "*" is a wildcard, got ${JSON.stringify(glob)}`;
  if (
    !glob.split("/").at(-1)!.includes("*") &&
    !glob
      .split("/")
      .slice(0, -1)
      .some((s) => s.includes("*"))
  )
    return `expected a "*" in ${JSON.stringify(glob)}: it names one image per match`;
  return undefined;
}

/** The leading folders of the globs with no wildcard: what to list from the repository. */
export function globRoots(globs: string[]): string[] {
  const roots = globs.map((g) => {
    const fixed: string[] = [];
    for (const segment of g.split("/").slice(0, -1)) {
      if (segment.includes("*")) break;
      fixed.push(segment);
    }
    return fixed.join("/");
  });
  return [...new Set(roots)];
}

/**
 * The images among `paths` (every file of the repository under the globs' roots). An image
 * is named by the glob's last wildcard folder (`packer/<name>/*.pkr.hcl`), else by its file
 * name (`images/<name>.toml`); the first glob that finds a name wins.
 */
export function discoverImages(paths: string[], globs: string[]): DiscoveredImage[] {
  const found = new Map<string, DiscoveredImage>();
  for (const glob of globs) {
    const segments = glob.split("/");
    const folderIndex = segments.slice(0, -1).findLastIndex((s) => s.includes("*"));
    const pattern = new RegExp(`^${segments.map(segmentPattern).join("/")}$`);
    for (const path of [...paths].sort()) {
      if (!pattern.test(path)) continue;
      const parts = path.split("/");
      const image: DiscoveredImage =
        folderIndex >= 0
          ? imageOfFolder(parts.slice(0, folderIndex + 1).join("/"), parts[folderIndex]!, path)
          : { name: stripExtension(parts.at(-1)!), template: path, files: { exact: path, under: `${path}/` } };
      if (IMAGE_NAME.test(image.name) && !found.has(image.name)) found.set(image.name, image);
    }
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The images at an MR's head for a comment: read at once at the commit the comment saw,
 * alongside the MR read (a round trip less before a build), and read again if the head is
 * another commit or project.
 */
export function imagesAtHead(
  gitlab: { images(projectId: number, sha: string, globs: string[]): Promise<DiscoveredImage[]> },
  seen: { sha: unknown; projectId: number },
  globs: string[],
): (mr: { sha: string; sourceProjectId: number }) => Promise<DiscoveredImage[]> {
  const { sha, projectId } = seen;
  const early =
    typeof sha === "string" && /^[0-9a-f]{40}$/.test(sha) && Number.isInteger(projectId)
      ? gitlab.images(projectId, sha, globs)
      : undefined;
  early?.catch(() => undefined);
  return (mr) =>
    early && mr.sha === sha && mr.sourceProjectId === projectId
      ? early
      : gitlab.images(mr.sourceProjectId, mr.sha, globs);
}

/** The images a change touches. */
export function imagesChanged(images: DiscoveredImage[], changedPaths: string[]): string[] {
  return images
    .filter((i) => changedPaths.some((p) => p === i.files.exact || p.startsWith(i.files.under)))
    .map((i) => i.name);
}

function imageOfFolder(folder: string, name: string, file: string): DiscoveredImage {
  // A Packer folder is one template; a folder glob over .toml files names the file itself.
  const template = file.endsWith(".toml") ? file : folder;
  return { name, template, files: { under: `${folder}/` } };
}

function segmentPattern(segment: string): string {
  return segment
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("[^/]*");
}

function stripExtension(file: string): string {
  return file.replace(/(\.pkr)?\.(toml|hcl|json)$/, "");
}

/**
 * The template of image `name` in a checked-out repository (absolute path), or undefined.
 * Lists the globs' roots on disk, so a build loads what discovery at that commit found.
 */
export function findTemplateOnDisk(repoDir: string, name: string, globs: string[]): string | undefined {
  const paths = globRoots(globs).flatMap((root) => {
    try {
      return readdirSync(join(repoDir, root), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => relative(repoDir, join(entry.parentPath, entry.name)).split(sep).join("/"));
    } catch {
      return [];
    }
  });
  const image = discoverImages(paths, globs).find((i) => i.name === name);
  return image ? join(repoDir, image.template) : undefined;
}
