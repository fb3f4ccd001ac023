import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { importCycles, importGraph } from "./import-cycles.js";
import { ROOT } from "./settings.js";

describe("modules import one another in one direction only", () => {
  for (const tree of ["src", "scripts", "e2e"])
    it(`${tree}/ has no import cycle`, () => {
      assert.deepEqual(importCycles(importGraph(join(ROOT, tree))), []);
    });

  it("a cycle through other modules is found, and what merely imports it is not part of it", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts", "d.ts"]],
      ["d.ts", []],
      ["e.ts", ["a.ts", "e.ts"]],
    ]);
    assert.deepEqual(importCycles(graph), [["a.ts", "b.ts", "c.ts"], ["e.ts"]]);
  });

  it("the server's modules are all read (a broken reader would pass the check above by finding nothing)", () => {
    const graph = importGraph(join(ROOT, "src"));
    assert.ok(graph.get("chat/connection.ts")?.includes("chat/messages.ts"));
    assert.ok(graph.get("chat/history.ts")?.includes("chat/reaction-cipher.ts"));
  });
});
