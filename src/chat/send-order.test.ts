import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSendOrder, oneAtATime } from "./send-order.js";

describe("one socket's sends", () => {
  it("run one after another, even when one before fails", async () => {
    const inTurn = oneAtATime();
    const log: string[] = [];
    let release: () => void = () => undefined;
    const first = inTurn(
      () =>
        new Promise<void>((resolve) => {
          log.push("first starts");
          release = resolve;
        }),
    );
    const second = inTurn(async () => {
      log.push("second starts");
      throw new Error("refused");
    });
    const third = inTurn(async () => void log.push("third starts"));
    await Promise.resolve();
    assert.deepEqual(log, ["first starts"]);
    release();
    await first;
    await assert.rejects(second);
    await third;
    assert.deepEqual(log, ["first starts", "second starts", "third starts"]);
  });

  it("after one is refused with a wait, later ones wait until it comes again and is stored", () => {
    const order = createSendOrder();
    assert.equal(order.mustWait("a"), false);
    order.refused("a");
    assert.equal(order.mustWait("b"), true);
    assert.equal(order.mustWait("a"), false, "the refused one itself may go again");
    order.refused("b"); // a later refusal does not move the one waited for
    order.stored("b");
    assert.equal(order.mustWait("c"), true);
    order.stored("a");
    assert.equal(order.mustWait("b"), false);
    assert.equal(order.mustWait("c"), false);
  });
});
