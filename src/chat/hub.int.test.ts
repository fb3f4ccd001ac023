/**
 * Fan-out between instances on the real Redis: two hubs stand for two app instances. An event
 * goes only to the instances that hold its room, never back to its publisher; and a listener
 * that joins as events go out misses none of them: each one either reaches it live or was
 * stored before it read what it missed (the order connection.ts keeps: join, then catch up).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createLogger } from "../logger.js";
import { connectServices, eventually, stack, testConfig, type Services } from "../test/support.js";
import { createHub, hubMembersKey, instanceChannel, type Hub, type HubEvent, type HubListener, type HubOptions } from "./hub.js";
import { createVisibility, LOOKING, lookingEffect, lookingIn } from "./notify/visibility.js";

const log = createLogger(testConfig());
const roomOf = (tag: string) => `hub-test-${tag}-${randomBytes(6).toString("hex")}`;
const typing = (roomId: string, from: string): HubEvent => ({ type: "typing", roomId, from });

function collector(): HubListener & { events: HubEvent[]; resyncs: number } {
  const self = {
    events: [] as HubEvent[],
    resyncs: 0,
    onEvent: (event: HubEvent) => void self.events.push(event),
    onResync: () => void self.resyncs++,
  };
  return self;
}

describe("fan-out between instances", () => {
  let services: Services;
  let admin: Redis;
  const hubs: Array<{ hub: Hub; publisher: Redis; subscriber: Redis }> = [];
  const newHub = (options: HubOptions = {}) => {
    const publisher = services.redis.duplicate();
    const subscriber = services.redis.duplicate();
    for (const client of [publisher, subscriber]) client.on("error", () => {});
    const made = { hub: createHub(publisher, subscriber, log, options), publisher, subscriber };
    hubs.push(made);
    return made;
  };
  before(async () => {
    services = await connectServices();
    admin = new Redis(stack.REDIS_ADMIN_URL);
  });
  after(async () => {
    for (const { hub, publisher } of hubs) {
      await hub.close();
      publisher.disconnect();
    }
    admin.disconnect();
    await services.close();
  });

  /** How many of the room's member instances have a subscriber on their channel. */
  const listening = async (roomId: string) => {
    const members = await admin.smembers(hubMembersKey(roomId));
    const answer = (await admin.pubsub("NUMSUB", ...members.map(instanceChannel))) as Array<string | number>;
    return answer.filter((_, i) => i % 2 === 1).filter((n) => Number(n) > 0).length;
  };

  it("an event reaches each other instance that holds the room once, and is never sent back to its publisher", async () => {
    const [a, b, c] = [newHub(), newHub(), newHub()];
    const roomId = roomOf("once");
    const [onA, onB] = [collector(), collector()];
    await Promise.all([a.hub.join(roomId, onA), b.hub.join(roomId, onB)]);
    await c.hub.join(roomOf("elsewhere"), collector());
    const sent: string[] = [];
    const spy = new Redis(stack.REDIS_ADMIN_URL);
    await spy.psubscribe(instanceChannel("*"));
    spy.on("pmessage", (_pattern: string, channel: string, raw: string) => {
      if (raw.includes(roomId)) sent.push(channel);
    });

    await a.hub.publish(typing(roomId, "alice"));
    await eventually("B got it", async () => onB.events.length === 1);
    assert.equal(onA.events.length, 1, "the publisher's own listener got it at once, locally");
    await b.hub.publish(typing(roomId, "bob"));
    await eventually("A got B's", async () => onA.events.length === 2);
    await eventually("the spy saw both", async () => sent.length === 2);
    spy.disconnect();
    assert.equal(new Set(sent).size, 2, "one delivery to each other instance, none back to the publisher");
    assert.deepEqual(
      onB.events.map((e) => e.type === "typing" && e.from),
      ["alice", "bob"],
    );
  });

  it("a listener joining while events go out gets each one live or finds it stored when it catches up", async () => {
    const [a, b] = [newHub(), newHub()];
    // The sender's side: the store (a list standing for MongoDB), then the publish.
    const rounds = 60;
    const misses: string[] = [];
    await Promise.all(
      Array.from({ length: rounds }, async (_, i) => {
        const roomId = roomOf(`race-${i}`);
        const stored: string[] = [];
        const listener = collector();
        // Another socket of the room already here on B, so B's joins race the publishes too.
        if (i % 2) await b.hub.join(roomId, collector());
        const jitter = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
        const sending = (async () => {
          for (let n = 0; n < 5; n++) {
            await jitter();
            stored.push(`m${n}`);
            await a.hub.publish(typing(roomId, `m${n}`));
          }
        })();
        await jitter();
        await b.hub.join(roomId, listener);
        const caughtUp = [...stored];
        await sending;
        const seen = () => new Set([...caughtUp, ...listener.events.map((e) => (e.type === "typing" ? e.from : ""))]);
        await eventually(`room ${i}: all five seen`, async () => stored.every((m) => seen().has(m)), 5_000).catch(() =>
          misses.push(`room ${i}: ${stored.filter((m) => !seen().has(m)).join(", ")}`),
        );
      }),
    );
    assert.deepEqual(misses, [], "every event was either caught up or delivered live");
  });

  it("the last listener leaving takes the instance out of the room; a dead instance is dropped by the next publish", async () => {
    const [a, b, c] = [newHub(), newHub(), newHub()];
    const roomId = roomOf("members");
    const listener = collector();
    await Promise.all([a.hub.join(roomId, collector()), b.hub.join(roomId, listener), c.hub.join(roomId, collector())]);
    assert.equal((await admin.smembers(hubMembersKey(roomId))).length, 3);
    await b.hub.leave(roomId, listener);
    assert.equal((await admin.smembers(hubMembersKey(roomId))).length, 2);

    // C dies: its subscriber connection goes, nothing is left to tell Redis.
    c.subscriber.disconnect();
    await eventually("Redis saw C's subscriber go", async () => (await listening(roomId)) === 1);
    await a.hub.publish(typing(roomId, "alice"));
    assert.equal((await admin.smembers(hubMembersKey(roomId))).length, 1, "only A holds the room now");
  });

  it("an instance whose subscriber dropped joins its rooms again before its listeners catch up", async () => {
    const [a, b] = [newHub(), newHub()];
    const roomId = roomOf("outage");
    const listener = collector();
    await Promise.all([a.hub.join(roomId, collector()), b.hub.join(roomId, listener)]);
    const before = await admin.smembers(hubMembersKey(roomId));
    // B's subscriber is cut off, and a publish meanwhile drops B from the room (nobody listened).
    const { localAddress, localPort } = (b.subscriber as unknown as { stream: { localAddress: string; localPort: number } })
      .stream;
    await admin.client("KILL", "ADDR", `${localAddress}:${localPort}`);
    await a.hub.publish(typing(roomId, "during"));
    await eventually("B resynced", async () => listener.resyncs === 1);
    assert.deepEqual((await admin.smembers(hubMembersKey(roomId))).sort(), before.sort(), "B holds the room again");
    await a.hub.publish(typing(roomId, "after"));
    await eventually("B gets events live again", async () =>
      listener.events.some((e) => e.type === "typing" && e.from === "after"),
    );
  });

  it("effects run in the publish call and answer with it; an event with nothing for an effect skips it", async () => {
    // Two effects: the second writes a key and answers what it wrote; the first answers nothing.
    const effects: HubOptions["effects"] = {
      quiet: { lua: "return nil", of: () => ({ keys: [], args: [] }) },
      mark: {
        lua: "redis.call('SET', keys[1], args[1]) return args[1]",
        of: (event, { to }) => (to ? { keys: [`duet:${event.roomId}:mark`], args: [to] } : undefined),
      },
    };
    const [a, b] = [newHub({ effects }), newHub({ effects })];
    const roomId = roomOf("effects");
    const listener = collector();
    await Promise.all([a.hub.join(roomId, collector()), b.hub.join(roomId, listener)]);

    assert.deepEqual(await a.hub.publish(typing(roomId, "alice"), { to: "bob" }), { mark: "bob" });
    assert.equal(await admin.get(`duet:${roomId}:mark`), "bob");
    assert.deepEqual(await a.hub.publish(typing(roomId, "alice")), {}, "nothing asked, nothing answered");
    await eventually("both events reached B", async () => listener.events.length === 2);
  });

  it("a message's publish says whether its recipient is looking; a damaged count never stops it going out", async () => {
    const effects = { [LOOKING]: lookingEffect };
    const [a, b] = [newHub({ effects }), newHub({ effects })];
    const visibility = createVisibility({ redis: services.redis, log });
    const roomId = roomOf("looking");
    const bob = `bob-${randomBytes(4).toString("hex")}`;
    const listener = collector();
    await Promise.all([a.hub.join(roomId, collector()), b.hub.join(roomId, listener)]);
    let n = 0;
    const message = (): HubEvent => ({
      type: "message",
      roomId,
      seq: ++n,
      from: "alice",
      clientId: `c${n}`,
      at: new Date().toISOString(),
      sealed: { v: 1, keyId: 1, iv: "", ct: "", mac: "" },
    });
    const looking = async () => lookingIn(await a.hub.publish(message(), { to: bob }));

    assert.equal(await looking(), false, "Bob has no page open");
    const page = visibility.opened(bob);
    await page.settled();
    assert.equal(await looking(), true, "Bob's page is in front");
    page.set(false);
    await page.settled();
    assert.equal(await looking(), false, "Bob's only page is hidden");
    assert.equal(lookingIn(await a.hub.publish(message(), { to: "alice" })), undefined, "not asked of the sender");

    await admin.set(`duet:visible:${bob}`, "not a hash");
    assert.equal(await looking(), undefined, "a damaged count answers nothing (the notifier asks again)");
    await eventually("every message reached B", async () => listener.events.length === n);
    page.closed();
    await visibility.close();
  });

  it("a damaged room set (not a set) is dropped by the next publish; each instance holding the room joins again and catches up", async () => {
    const a = newHub();
    const b = newHub();
    const roomId = roomOf("damaged-set");
    const atA = collector();
    const atB = collector();
    await a.hub.join(roomId, atA);
    await b.hub.join(roomId, atB);
    await admin.set(hubMembersKey(roomId), "not a set");

    // The event itself reaches nobody through the damaged key; B is told to catch up instead.
    await a.hub.publish(typing(roomId, "first"));
    await eventually("B told to catch up", async () => atB.resyncs > 0);
    await eventually("both instances in the room again", async () => (await listening(roomId)) === 2);
    await a.hub.publish(typing(roomId, "second"));
    await eventually("B hears the next event live", async () =>
      atB.events.some((e) => e.type === "typing" && e.from === "second"),
    );
    assert.equal(await admin.type(hubMembersKey(roomId)), "set");
  });
});
