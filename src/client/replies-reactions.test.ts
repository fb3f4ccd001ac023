import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EXCERPT_LENGTH, quoteOf } from "../chat/protocol.js";
import { moveInGrid } from "./emoji-picker.js";
import { reactedBy, reactionLabel, withReaction } from "./reactions-view.js";
import { quoteText } from "./reply-view.js";

describe("what a reply quotes", () => {
  const base = { from: "a", text: "" };
  it("the start of the text on one line, or what the original was instead", () => {
    assert.deepEqual(quoteOf(3, { ...base, text: "Meet at\n\nnine  please" }), {
      seq: 3,
      from: "a",
      excerpt: "Meet at nine please",
    });
    const long = quoteOf(3, { ...base, text: "x".repeat(500) });
    assert.equal(long.excerpt?.length, EXCERPT_LENGTH);
    assert.ok(long.excerpt?.endsWith("…"));
    assert.deepEqual(quoteOf(3, { ...base, deleted: true, text: "gone" }), { seq: 3, from: "a", deleted: true });
    const file = { id: "f", name: "plan.pdf", type: "application/pdf", size: 9 };
    assert.deepEqual(quoteOf(3, { ...base, attachment: file }), { seq: 3, from: "a", attachment: true, excerpt: "plan.pdf" });
    assert.deepEqual(quoteOf(3, undefined), { seq: 3 });
    assert.equal(quoteText({ seq: 3, from: "a", deleted: true }), "Deleted message");
    assert.equal(quoteText({ seq: 3, from: "a", attachment: true, excerpt: "plan.pdf" }), "Attachment: plan.pdf");
    assert.equal(quoteText({ seq: 3 }), "Earlier message");
  });
});

describe("reactions on the page", () => {
  it("are sets: a change seen twice counts once, taking back the last one removes the chip", () => {
    let reactions = withReaction(undefined, { from: "bob", emoji: "👍", on: true });
    reactions = withReaction(reactions, { from: "bob", emoji: "👍", on: true });
    reactions = withReaction(reactions, { from: "alice", emoji: "👍", on: true });
    reactions = withReaction(reactions, { from: "alice", emoji: "🎉", on: true });
    assert.deepEqual(reactions, [
      { emoji: "👍", by: ["bob", "alice"] },
      { emoji: "🎉", by: ["alice"] },
    ]);
    assert.equal(reactionLabel(reactions[0] ?? { emoji: "👍", by: [] }, "alice"), "👍 2, you reacted");
    assert.equal(reactionLabel(reactions[0] ?? { emoji: "👍", by: [] }, "carol"), "👍 2");
    assert.deepEqual([...reactedBy(reactions, "alice")], ["👍", "🎉"]);
    reactions = withReaction(reactions, { from: "alice", emoji: "🎉", on: false });
    reactions = withReaction(reactions, { from: "alice", emoji: "🎉", on: false });
    assert.deepEqual(reactions, [{ emoji: "👍", by: ["bob", "alice"] }]);
  });

  it("the picker's arrow keys move in a grid and stop at its edges", () => {
    assert.equal(moveInGrid("ArrowRight", 0, 24, 8), 1);
    assert.equal(moveInGrid("ArrowLeft", 0, 24, 8), 0);
    assert.equal(moveInGrid("ArrowDown", 3, 24, 8), 11);
    assert.equal(moveInGrid("ArrowDown", 19, 24, 8), 19);
    assert.equal(moveInGrid("ArrowUp", 11, 24, 8), 3);
    assert.equal(moveInGrid("End", 0, 24, 8), 23);
    assert.equal(moveInGrid("x", 0, 24, 8), undefined);
  });
});
