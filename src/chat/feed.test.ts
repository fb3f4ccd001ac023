import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createFeed } from "./feed.js";

function feedAfter(after: number) {
  const out: number[] = [];
  let gaps = 0;
  const feed = createFeed<{ seq: number }>({ after, emit: (m) => out.push(m.seq), onGap: () => gaps++ });
  return { feed, out, gaps: () => gaps };
}

describe("a socket's feed of messages", () => {
  it("delivers in number order whatever order they arrive in, each once", () => {
    const { feed, out } = feedAfter(10);
    for (const seq of [13, 11, 11, 14, 12, 9, 13, 15]) feed.push({ seq });
    assert.deepEqual(out, [11, 12, 13, 14, 15]);
    assert.equal(feed.next(), 16);
  });

  it("holds later numbers while one is missing and says which", () => {
    const { feed, out, gaps } = feedAfter(0);
    feed.push({ seq: 1 });
    feed.push({ seq: 4 });
    feed.push({ seq: 5 });
    assert.deepEqual(out, [1]);
    assert.ok(gaps() > 0);
    assert.deepEqual(feed.missing(), { from: 2, to: 3 });
    feed.settle(2, { seq: 2 });
    assert.deepEqual(feed.missing(), { from: 3, to: 3 });
    feed.settle(3, undefined); // a number whose write failed: never coming
    assert.deepEqual(out, [1, 2, 4, 5]);
    assert.equal(feed.missing(), undefined);
  });

  it("its own acknowledged sends keep their place without being sent back", () => {
    const { feed, out } = feedAfter(0);
    feed.push({ seq: 2 }); // the peer's, stored after my 1
    assert.deepEqual(out, []);
    feed.pass(1);
    assert.deepEqual(out, [2]);
  });

  it("a message that arrives after its number was settled as missing is not delivered twice or late", () => {
    const { feed, out } = feedAfter(0);
    feed.push({ seq: 2 });
    feed.settle(1, undefined);
    feed.push({ seq: 1 });
    assert.deepEqual(out, [2]);
  });

  it("a real message wins over 'never coming' for a number still held", () => {
    const { feed, out } = feedAfter(0);
    feed.push({ seq: 3 });
    feed.push({ seq: 2 });
    feed.settle(2, undefined);
    feed.settle(1, undefined);
    assert.deepEqual(out, [2, 3]);
  });
});

describe("a span no message can fill", () => {
  it("is skipped at once: what is held before and after it goes out in order", () => {
    const { feed, out } = feedAfter(0);
    feed.push({ seq: 1 });
    feed.push({ seq: 3 });
    feed.push({ seq: 5_000_000 });
    feed.push({ seq: 5_000_001 });
    feed.skipTo(4_999_999);
    assert.deepEqual(out, [1, 3]);
    feed.settle(4_999_999, undefined);
    assert.deepEqual(out, [1, 3, 5_000_000, 5_000_001]);
    assert.equal(feed.missing(), undefined);
  });
});
