import { describe, expect, test } from "vitest";
import { locateKey, type Position } from "../../src/template/locate.js";

const TOML = `top = 1
[image] # the image
name = "x"

[variables.root_password]
default = "pw"

[source]
iso_url = "a.iso"
qemuargs = [
  ["-m", "4096"],
  ["-smp", "2"],
]
  disk_size = "8G"

[source.http_content]
"/ks/a.ks" = "text"

[[provisioner]]
type = "file"
source = "motd"

[[provisioner]]
type = "shell"
script = "a.sh"

[[provisioner]]
type = "shell"
inline = ["true"]
`;

describe("locateKey", () => {
  test.each<[string, (string | number)[], Position | undefined]>([
    ["a key in a table", ["source", "iso_url"], { line: 9, column: 1 }],
    ["a key after a multi-line array of arrays", ["source", "disk_size"], { line: 14, column: 3 }],
    ["a table", ["source"], { line: 8, column: 1 }],
    ["a table with a comment after its header", ["image"], { line: 2, column: 1 }],
    ["a sub-table written as a header", ["source", "http_content"], { line: 16, column: 1 }],
    ["a quoted key in a sub-table", ["source", "http_content", "/ks/a.ks"], { line: 17, column: 1 }],
    ["a dotted table header", ["variables", "root_password"], { line: 5, column: 1 }],
    ["a key in a dotted table", ["variables", "root_password", "default"], { line: 6, column: 1 }],
    ["the first array-of-tables entry", ["provisioner", 0], { line: 19, column: 1 }],
    ["the third array-of-tables entry", ["provisioner", 2], { line: 27, column: 1 }],
    ["a key in the second entry", ["provisioner", 1, "script"], { line: 25, column: 1 }],
    ["a key missing from its table: the table", ["source", "ssh_username"], { line: 8, column: 1 }],
    ["a top-level key", ["top"], { line: 1, column: 1 }],
    ["a top-level name only used inside tables", ["iso_url"], undefined],
    ["an entry that does not exist: the array's first entry", ["provisioner", 5], { line: 19, column: 1 }],
    ["a table that does not exist", ["build", "x"], undefined],
    ["the empty path", [], undefined],
  ])("%s", (_, path, expected) => {
    expect(locateKey(TOML, path)).toEqual(expected);
  });
});
