import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { atMost } from "./concurrency.js";

describe("atMost", () => {
  it("runs at most the limit at once, the rest in the order they came, failures included", async () => {
    const run = atMost(2);
    let now = 0;
    let peak = 0;
    const order: number[] = [];
    const releases: Array<() => void> = [];
    const task = (n: number, fail = false) =>
      run(async () => {
        now++;
        peak = Math.max(peak, now);
        order.push(n);
        await new Promise<void>((resolve) => releases.push(resolve));
        now--;
        if (fail) throw new Error(`task ${n} failed`);
        return n;
      });
    const results = [task(1, true), task(2), task(3), task(4)].map((p) => p.catch((err: Error) => err.message));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, [1, 2], "two start, two wait");
    releases.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    // One more comes while 2 and 3 run: it waits too.
    results.push(task(5));
    while (releases.length > 0) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(await Promise.all(results), ["task 1 failed", 2, 3, 4, 5]);
    assert.deepEqual(order, [1, 2, 3, 4, 5]);
    assert.equal(peak, 2);
  });
});
