import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { createDelivery, type DeliverySource, type Settled } from "./delivery.js";
import type { PlainMessage, ServerFrame } from "./protocol.js";

const LOOKUP_MS = 300;
const SETTLE_MS = 5_000;

const message = (seq: number): PlainMessage => ({
  seq,
  from: "bob",
  clientId: `c${seq}`,
  at: "2026-12-07T00:00:00.000Z",
  text: `#${seq}`,
});

/** Lets the promises a timer started run to their end (the lookup is async). */
const settleDown = () => new Promise((resolve) => setImmediate(resolve));

/** A socket's delivery over a room `room` stands in for; what it sends and asks is recorded. */
function deliveryAfter(after: number, room: Partial<DeliverySource> = {}) {
  const frames: ServerFrame[] = [];
  const lookups: Array<{ from: number; to: number; claim: boolean }> = [];
  const unreadable: number[] = [];
  const warnings: string[] = [];
  const delivery = createDelivery({
    after,
    send: (frame) => frames.push(frame),
    lookupMs: LOOKUP_MS,
    settleMs: SETTLE_MS,
    log: { warn: (_details, text) => void warnings.push(text) },
    source: {
      head: async () => undefined,
      read: async () => [],
      settle: async (range, claim): Promise<Settled> => {
        lookups.push({ ...range, claim });
        return { settled: new Map() };
      },
      unreadable: (seq) => void unreadable.push(seq),
      ...room,
    },
  });
  const delivered = () => frames.filter((f) => f.type === "message").map((f) => (f.type === "message" ? f.seq : 0));
  return { delivery, frames, delivered, lookups, unreadable, warnings };
}

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"] }));
afterEach(() => mock.timers.reset());

describe("a socket's delivery on connect", () => {
  it("sends what is stored after the client's last number, in order", async () => {
    const { delivery, delivered } = deliveryAfter(2, { head: async () => 4, read: async () => [3, 4].map(message) });
    await delivery.catchUp(2);
    assert.deepEqual(delivered(), [3, 4]);
    assert.equal(delivery.next(), 5);
  });

  it("reads nothing when the counter has handed out nothing newer", async () => {
    let reads = 0;
    const { delivery } = deliveryAfter(7, {
      head: async () => 7,
      read: async () => {
        reads++;
        return [];
      },
    });
    await delivery.catchUp(7);
    assert.equal(reads, 0);
  });

  it("does not wait below a stored number that damage put far past the counter", async () => {
    const { delivery, delivered, unreadable, lookups } = deliveryAfter(0, {
      head: async () => 2,
      read: async () => [1, 2, 5_000_000].map(message),
    });
    await delivery.catchUp(0);
    assert.deepEqual(delivered(), [1, 2]);
    assert.deepEqual(unreadable, [5_000_000]);
    mock.timers.tick(LOOKUP_MS);
    await settleDown();
    assert.deepEqual(lookups, [], "nothing is held, so nothing is looked up");
  });
});

describe("a number missing below one that arrived", () => {
  it("is looked up after a moment, and what the store has goes out in order", async () => {
    const { delivery, delivered, lookups } = deliveryAfter(0, {
      settle: async (range, claim) => {
        lookups.push({ ...range, claim });
        return {
          settled: new Map([
            [1, message(1)],
            [2, undefined],
          ]),
        };
      },
    });
    delivery.push(message(3));
    assert.deepEqual(delivered(), []);
    mock.timers.tick(LOOKUP_MS - 1);
    await settleDown();
    assert.deepEqual(lookups, []);
    mock.timers.tick(1);
    await settleDown();
    assert.deepEqual(lookups, [{ from: 1, to: 2, claim: false }]);
    assert.deepEqual(delivered(), [1, 3], "2 will never exist: it is skipped, not sent");
  });

  it("arriving live before the lookup needs no lookup", async () => {
    const { delivery, delivered, lookups } = deliveryAfter(0);
    delivery.push(message(2));
    delivery.push(message(1));
    mock.timers.tick(LOOKUP_MS);
    await settleDown();
    assert.deepEqual(delivered(), [1, 2]);
    assert.deepEqual(lookups, []);
  });

  it("is looked up again while missing, and claimed once it has been missing long enough", async () => {
    const { delivery, delivered, lookups } = deliveryAfter(0, {
      settle: async (range, claim) => {
        lookups.push({ ...range, claim });
        return { settled: new Map(claim ? [[1, undefined]] : []) };
      },
    });
    delivery.push(message(2));
    for (let waited = 0; waited < SETTLE_MS; waited += LOOKUP_MS) {
      mock.timers.tick(LOOKUP_MS);
      await settleDown();
    }
    assert.ok(lookups.length > 1);
    assert.ok(
      lookups.slice(0, -1).every((l) => !l.claim),
      "numbers in flight are not claimed early",
    );
    assert.deepEqual(lookups.at(-1), { from: 1, to: 1, claim: true });
    assert.deepEqual(delivered(), [2]);
  });

  it("is looked up less often the longer it stays missing, and still claimed on time", async () => {
    const times: Array<{ at: number; claim: boolean }> = [];
    const { delivery } = deliveryAfter(0, {
      settle: async (_range, claim) => {
        times.push({ at: Date.now(), claim });
        return { settled: new Map(claim ? [[1, undefined]] : []) };
      },
    });
    delivery.push(message(2));
    for (let waited = 0; waited <= SETTLE_MS; waited += 100) {
      mock.timers.tick(100);
      await settleDown();
    }
    // Five lookups where one every 300 ms made seventeen; the last one claims the number.
    assert.deepEqual(
      times.map((t) => t.at),
      [300, 900, 2_100, 4_500, 5_000],
    );
    assert.deepEqual(
      times.map((t) => t.claim),
      [false, false, false, false, true],
    );
  });

  it("keeps backing off while its claim fails (the database is away), at most 5 s apart", async () => {
    const times: number[] = [];
    const { delivery, warnings } = deliveryAfter(0, {
      settle: async (_range, claim) => {
        times.push(Date.now());
        if (claim) throw new Error("database away");
        return { settled: new Map() };
      },
    });
    delivery.push(message(2));
    for (let waited = 0; waited <= 4 * SETTLE_MS; waited += 100) {
      mock.timers.tick(100);
      await settleDown();
    }
    assert.deepEqual(times, [300, 900, 2_100, 4_500, 5_000, 6_000, 8_000, 12_000, 17_000]);
    assert.equal(warnings.length, 5, "each failed claim is logged");
  });

  it("is looked up again after a failed lookup", async () => {
    let failures = 1;
    const { delivery, delivered, warnings } = deliveryAfter(0, {
      settle: async () => {
        if (failures-- > 0) throw new Error("database away");
        return { settled: new Map([[1, message(1)]]) };
      },
    });
    delivery.push(message(2));
    mock.timers.tick(LOOKUP_MS);
    await settleDown();
    assert.deepEqual(delivered(), []);
    assert.deepEqual(warnings, ["could not look up missing messages; will retry"]);
    mock.timers.tick(2 * LOOKUP_MS);
    await settleDown();
    assert.deepEqual(delivered(), [1, 2]);
  });

  it("a span no message can fill is jumped over at once", async () => {
    const { delivery, delivered, warnings } = deliveryAfter(0, {
      settle: async () => ({ settled: new Map(), skipTo: 20_000 }),
    });
    delivery.push(message(20_000));
    mock.timers.tick(LOOKUP_MS);
    await settleDown();
    assert.deepEqual(delivered(), [20_000]);
    assert.deepEqual(warnings, ["skipped a span of numbers no message can fill"]);
  });

  it("is no longer looked up once the socket closed", async () => {
    const { delivery, lookups } = deliveryAfter(0);
    delivery.push(message(2));
    delivery.stop();
    mock.timers.tick(SETTLE_MS);
    await settleDown();
    assert.deepEqual(lookups, []);
    assert.ok(delivery.stopped());
  });
});

describe("changes and the socket's own sends", () => {
  it("an edit of a message not yet sent goes right after it; of one sent, at once", () => {
    const { delivery, frames } = deliveryAfter(0);
    delivery.push(message(1));
    delivery.change(2, { type: "deleted", seq: 2 });
    delivery.change(1, { type: "deleted", seq: 1 });
    assert.deepEqual(
      frames.map((f) => `${f.type} ${"seq" in f ? f.seq : ""}`),
      ["message 1", "deleted 1"],
    );
    delivery.push(message(2));
    assert.deepEqual(
      frames.map((f) => `${f.type} ${"seq" in f ? f.seq : ""}`),
      ["message 1", "deleted 1", "message 2", "deleted 2"],
    );
  });

  it("its own send keeps its place without being sent back, echo or ack first", () => {
    const { delivery, delivered } = deliveryAfter(0);
    delivery.sendStarted("mine");
    delivery.push(message(2)); // the peer's, stored after mine
    assert.equal(delivery.ownEcho("mine", 1), true);
    assert.deepEqual(delivered(), [2]);
    delivery.sendStored(1); // the ack after the echo: nothing changes
    delivery.sendEnded("mine");
    assert.equal(delivery.ownEcho("mine", 3), false, "a send that is over is not this socket's any more");
    assert.deepEqual(delivered(), [2]);
  });
});
