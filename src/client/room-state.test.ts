import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createRoomPosition, insertionIndex, overflow } from "./room-state.js";

describe("the chat page's room state", () => {
  it("resumes after what the server sent, not after our own acks", () => {
    const position = createRoomPosition();
    position.received(4);
    position.acked(9);
    assert.equal(position.highest, 9);
    assert.equal(position.resumeFrom, 4);
    position.received(7);
    assert.equal(position.resumeFrom, 7);
    position.received(3);
    assert.equal(position.resumeFrom, 7, "never goes back");
  });

  it("reports a read only when there is something new to report", () => {
    const position = createRoomPosition();
    assert.equal(position.toMarkRead(), undefined);
    position.received(5);
    assert.equal(position.toMarkRead(), 5);
    position.readUpTo(5);
    assert.equal(position.toMarkRead(), undefined);
    position.readUpTo(2);
    assert.equal(position.readSent, 5, "an older read marker changes nothing");
    position.acked(6);
    assert.equal(position.toMarkRead(), 6);
  });

  it("places a number after every equal one, in O(log n)", () => {
    assert.equal(insertionIndex([], 5), 0);
    assert.equal(insertionIndex([1, 3, 5], 4), 2);
    assert.equal(insertionIndex([1, 3, 5], 0), 0);
    assert.equal(insertionIndex([1, 3, 5], 9), 3);
    const pending = Number.MAX_SAFE_INTEGER;
    assert.equal(insertionIndex([1, 2, pending, pending], pending), 4, "pending ones keep the order they were typed in");
    assert.equal(insertionIndex([1, 2, pending, pending], 3), 2, "a stored one goes before every pending one");
    const sorted = Array.from({ length: 10_000 }, (_, i) => i * 2);
    for (const key of [-1, 0, 1, 9_999, 19_998, 20_000]) {
      const linear = sorted.findIndex((value) => value > key);
      assert.equal(insertionIndex(sorted, key), linear === -1 ? sorted.length : linear);
    }
  });

  it("keeps the rendered slice bounded, dropping from the end away from the reader", () => {
    assert.deepEqual(overflow(250, 300, "older"), { dropOldest: 0, dropNewest: 0 });
    assert.deepEqual(overflow(350, 300, "older"), { dropOldest: 0, dropNewest: 50 });
    assert.deepEqual(overflow(301, 300, "newest"), { dropOldest: 1, dropNewest: 0 });
  });
});
