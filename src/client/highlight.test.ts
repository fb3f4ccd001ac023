import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { matchParts, snippetParts } from "./highlight.js";

describe("search hits in a message", () => {
  it("marks every occurrence whatever its case, and keeps markup as text", () => {
    assert.deepEqual(matchParts("The Lantern and the LANTERN <b>", "lantern"), [
      { text: "The " },
      { text: "Lantern", hit: true },
      { text: " and the " },
      { text: "LANTERN", hit: true },
      { text: " <b>" },
    ]);
    assert.deepEqual(matchParts("<b>x</b>", "<B>"), [{ text: "<b>", hit: true }, { text: "x</b>" }]);
    assert.deepEqual(matchParts("nothing here", "lantern"), [{ text: "nothing here" }]);
  });

  it("keeps places right when lower-casing changes a character's length", () => {
    assert.deepEqual(matchParts("İstanbul lantern", "lantern"), [{ text: "İstanbul " }, { text: "lantern", hit: true }]);
  });

  it("cuts a long message around its first hit", () => {
    const text = `${"a".repeat(300)} lantern ${"b".repeat(300)}`;
    const parts = snippetParts(text, "lantern", 60);
    assert.equal(parts[0]?.text, "…");
    assert.equal(parts.at(-1)?.text, "…");
    assert.ok(parts.some((p) => p.hit && p.text === "lantern"));
    assert.ok(parts.reduce((n, p) => n + p.text.length, 0) <= 62);
  });
});
