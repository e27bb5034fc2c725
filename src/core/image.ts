// The image a template describes, shared by the loader, the builder and the post-processors.

/** `[image]`: the image's identity, copied into events and the manifest. */
export interface ImageMeta {
  name: string;
  version?: string;
  [key: string]: unknown;
}
