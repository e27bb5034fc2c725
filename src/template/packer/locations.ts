// Where each key of a Packer template's document is written, for the loader's messages:
// ["source", "disk_size"] -> rocky9.pkr.hcl:14:3. Front-ends fill the map as they build the
// document; a key not in it is located at its closest enclosing key.
import type { KeyPath, SourceLocation } from "../document.js";

/** JSON.stringify(keyPath) -> where it is written. */
export type Locations = Map<string, SourceLocation>;

export function documentLocator(locations: Locations, shown: string): (path: KeyPath) => SourceLocation {
  return (path) => {
    for (let n = path.length; n > 0; n--) {
      const found = locations.get(JSON.stringify(path.slice(0, n)));
      if (found) return found;
    }
    return { file: shown };
  };
}
