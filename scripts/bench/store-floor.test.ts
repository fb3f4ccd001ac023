import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { whoSends } from "./store-floor.js";

describe("the store-alone step's senders", () => {
  for (const rooms of [125, 278]) {
    it(`with ${rooms} rooms, each member sends every other message of their room, and the stores alternate`, () => {
      const count = rooms * 8;
      const bySender = new Map<string, number>();
      const lastSender = new Map<number, number>();
      let sameStoreTwice = 0;
      for (let i = 0; i < count; i++) {
        const turn = whoSends(i, rooms);
        const key = `${turn.room}/${turn.sender}`;
        bySender.set(key, (bySender.get(key) ?? 0) + 1);
        assert.notEqual(lastSender.get(turn.room), turn.sender, `room ${turn.room} had the same sender twice in a row`);
        lastSender.set(turn.room, turn.sender);
        if (i > 0 && whoSends(i - 1, rooms).store === turn.store) sameStoreTwice++;
      }
      // Every member of every room, at half the room's share: none over the send limit first.
      assert.equal(bySender.size, rooms * 2);
      for (const [key, n] of bySender) assert.equal(n, 4, `${key} sent ${n} of 8`);
      assert.equal(sameStoreTwice, 0);
    });
  }
});
