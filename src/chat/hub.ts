/**
 * Fan-out between app instances over Redis pub/sub, to the instances that need an event and no
 * others. Each instance subscribes to one channel of its own (`duet:to:<instance id>`), and Redis
 * keeps, per room, the set of instances that hold a listener of it (`duet:hub:<room id>`): an
 * instance adds itself when its first local listener of a room arrives and removes itself when
 * the last one leaves. A publish is one script call that sends the event to every instance in
 * the room's set except the publisher's own (which delivers locally, at once), and drops from the
 * set an instance nobody listens for any more (PUBLISH reached no one: the instance died).
 *
 * Why nothing is missed when a socket joins as a message goes out: `join` resolves only once this
 * instance's channel is subscribed and its membership is in Redis. The publish script reads the
 * set atomically, after the sender's insert. So either it ran after the membership was added (the
 * event comes live), or before, and then the message was stored before the joining socket reads
 * what it missed (connection.ts joins first, then catches up from MongoDB).
 *
 * Message events carry only ciphertext: no plaintext ever reaches Redis. If the subscriber
 * drops, sends still persist (MongoDB) and are acknowledged; when it is back, this instance
 * subscribes and adds its rooms again, then tells every local listener to resync from MongoDB.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";

export type SealedWire = { v: number; keyId: number; iv: string; ct: string; mac: string };

export type HubEvent =
  | {
      type: "message";
      roomId: string;
      seq: number;
      from: string;
      clientId: string;
      at: string;
      sealed: SealedWire;
      /** Absent for text; "attachment" for a file (the MAC binds it). */
      kind?: string;
      /** The number of the message it answers. */
      replyTo?: number;
    }
  | { type: "edited"; roomId: string; seq: number; from: string; at: string; sealed: SealedWire }
  | { type: "deleted"; roomId: string; seq: number }
  /** The emoji is sealed (bound to room, message, member and kind "reaction"), as text is. */
  | { type: "reaction"; roomId: string; seq: number; from: string; on: boolean; sealed: SealedWire }
  | { type: "typing"; roomId: string; from: string }
  | { type: "read"; roomId: string; from: string; seq: number }
  | { type: "presence"; roomId: string; userId: string; online: boolean; lastSeenAt: string | null }
  | { type: "block"; roomId: string; by: string; blocked: boolean }
  | { type: "room-deleted"; roomId: string; by: string }
  /** On a user's inbox channel (inbox-socket.ts): `room` is now in their list. */
  | { type: "room-opened"; roomId: string; room: string };

export type HubListener = { onEvent(event: HubEvent): void; onResync(): void };

/** Keys and arguments of what Redis does as it takes an event (see `HubOptions`). */
export type HubEffect = { keys: string[]; args: string[] };

/** What the publisher knows of an event beyond the event itself: whom a message is for. */
export type PublishContext = { to?: string };

/**
 * Something Redis does, or answers, in the same script call as the fan-out, before it: one round
 * trip per event whatever the effects (the conversation list's summaries, summaries.ts; whether
 * a message's recipient is looking at Duet, notify/visibility.ts).
 */
export type HubEffectSpec = {
  /**
   * Lua: the body of a function of `keys` and `args` (its own slices of KEYS and ARGV). What it
   * returns is the effect's answer (nil answers nothing). It must not fail on a damaged key:
   * an error here would stop the event going out.
   */
  lua: string;
  /** What the event asks of this effect, if anything. */
  of(event: HubEvent, context: PublishContext): HubEffect | undefined;
  /** Redis did not take an event that had this effect: whatever the effect keeps may be stale. */
  lost?(event: HubEvent): void;
};

export type HubOptions = { effects?: Record<string, HubEffectSpec> };

/**
 * The answers of the effects an event had, by effect name, once Redis took it; undefined when it
 * did not (Redis away or failing).
 */
export type Published = Record<string, unknown> | undefined;

export type Hub = {
  /** Resolves once events of the room published from now on reach `listener` (see above). */
  join(roomId: string, listener: HubListener): Promise<void>;
  leave(roomId: string, listener: HubListener): Promise<void>;
  /**
   * Delivers locally now and to the other instances that hold the room through Redis. Resolves
   * once Redis has taken it, with its effects' answers, or it failed (logged: peers catch up),
   * with undefined; never rejects.
   */
  publish(event: HubEvent, context?: PublishContext): Promise<Published>;
  close(): Promise<void>;
};

/** The Redis set of instances that hold listeners of a room (or of an inbox pseudo-room). */
export const hubMembersKey = (roomId: string) => `duet:hub:${roomId}`;
const CHANNEL_PREFIX = "duet:to:";
/** The pub/sub channel of one instance: every event it is sent arrives there. */
export const instanceChannel = (instance: string) => `${CHANNEL_PREFIX}${instance}`;
/**
 * Where every instance hears that a room's set was found damaged and dropped (the message is
 * the set's key): each one holding the room adds itself again and its listeners catch up. Not
 * an instance's channel: those end in 16 hex digits.
 */
const REJOIN_CHANNEL = `${CHANNEL_PREFIX}rejoin`;

// KEYS[1]: the room's set of instances. ARGV: the publisher's id, the channel prefix, the event.
// `sent` counts the instances that got it. A key that is not a set (written by hand, or by a
// bug) would fail every publish of the room, so it is dropped and the instances told to rejoin.
const PUBLISH = `
local sent = 0
local members = redis.pcall('SMEMBERS', KEYS[1])
if members.err then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2] .. 'rejoin', KEYS[1])
  members = {}
end
for _, id in ipairs(members) do
  if id ~= ARGV[1] then
    if redis.call('PUBLISH', ARGV[2] .. id, ARGV[3]) > 0 then sent = sent + 1
    else redis.call('SREM', KEYS[1], id) end
  end
end`;

/**
 * The publish script with its effects before the fan-out. After the hub's own KEYS[1] and
 * ARGV[1..3], each effect in turn has two counts in ARGV (its keys, its arguments; "-" when the
 * event has nothing for it) and then its arguments; its keys follow in KEYS. Answers
 * {sent, one answer per effect (false for none)}.
 */
function publishScript(effects: readonly HubEffectSpec[]): string {
  const parts = effects.map(
    (effect, i) => `
do
  local nk, na = tonumber(ARGV[ai]), tonumber(ARGV[ai + 1])
  ai = ai + 2
  if nk then
    local keys, args = take(KEYS, ki, nk), take(ARGV, ai, na)
    ki, ai = ki + nk, ai + na
    answers[${i + 1}] = (function(keys, args)
${effect.lua}
end)(keys, args)
  end
end`,
  );
  return `
local ki, ai = 2, 4
local answers = {}
local function take(t, from, n)
  local out = {}
  for i = 1, n do out[i] = t[from + i - 1] end
  return out
end
${parts.join("\n")}
${PUBLISH}
local reply = {sent}
for i = 1, ${effects.length} do reply[i + 1] = answers[i] or false end
return reply`;
}

export function createHub(publisher: Redis, subscriber: Redis, log: Logger, options: HubOptions = {}): Hub {
  const named = Object.entries(options.effects ?? {});
  const effects = named.map(([, effect]) => effect);
  const body = publishScript(effects);
  const sha = createHash("sha1").update(body).digest("hex");
  const instance = randomBytes(8).toString("hex");
  const channel = instanceChannel(instance);
  const rooms = new Map<string, Set<HubListener>>();
  // Per room, the last membership change sent to Redis: changes of one room go in order, and a
  // join waits for the one that makes the room's events reach it.
  const membership = new Map<string, Promise<void>>();
  const inRedis = new Set<string>();
  let hadOutage = false;
  let closed = false;

  const warn = (err: unknown, msg: string) => log.warn({ err: err instanceof Error ? err.message : err }, msg);
  let subscribed = subscriber.subscribe(channel, REJOIN_CHANNEL).then(() => undefined);
  subscribed.catch((err: unknown) => warn(err, "hub subscribe failed; will catch up when Redis is back"));

  /** Brings the room's membership in Redis in line with whether it has local listeners. */
  const sync = (roomId: string): Promise<void> => {
    const next = (membership.get(roomId) ?? Promise.resolve())
      .then(() => subscribed)
      .then(async () => {
        const wanted = rooms.has(roomId) && !closed;
        if (wanted === inRedis.has(roomId)) return;
        if (wanted) {
          await publisher.sadd(hubMembersKey(roomId), instance);
          inRedis.add(roomId);
        } else {
          inRedis.delete(roomId);
          await publisher.srem(hubMembersKey(roomId), instance);
        }
      })
      .catch((err: unknown) => warn(err, "hub membership not written; will catch up when Redis is back"));
    membership.set(roomId, next);
    void next.then(() => membership.get(roomId) === next && membership.delete(roomId));
    return next;
  };

  const deliver = (event: HubEvent) => {
    for (const listener of rooms.get(event.roomId) ?? []) listener.onEvent(event);
  };

  /** A room's set was damaged and dropped: join it again, then have its listeners catch up. */
  const rejoin = (key: string) => {
    const roomId = key.slice(hubMembersKey("").length);
    if (!rooms.has(roomId) || closed) return;
    inRedis.delete(roomId);
    void sync(roomId).finally(() => {
      for (const listener of rooms.get(roomId) ?? []) listener.onResync();
    });
  };

  subscriber.on("message", (from: string, raw: string) => {
    if (from === REJOIN_CHANNEL) return rejoin(raw);
    // The subscriber connection is shared with other listeners (ended sessions, re-keys).
    if (from !== channel) return;
    try {
      deliver(JSON.parse(raw) as HubEvent);
    } catch (err) {
      log.warn({ err }, "unreadable hub event");
    }
  });
  subscriber.on("close", () => (hadOutage = true));
  subscriber.on("ready", () => {
    if (!hadOutage || closed) return;
    hadOutage = false;
    // Publishers may have dropped this instance from rooms' sets meanwhile (nobody listened), and
    // Redis may have restarted without them: subscribe (confirmed), add every room again, and
    // only then fetch from MongoDB what arrived meanwhile.
    subscribed = subscriber.subscribe(channel, REJOIN_CHANNEL).then(() => undefined);
    void subscribed
      .then(async () => {
        inRedis.clear();
        await Promise.all([...rooms.keys()].map(sync));
      })
      .catch((err: unknown) => warn(err, "hub resubscribe failed"))
      .finally(() => {
        for (const listeners of rooms.values()) for (const listener of listeners) listener.onResync();
      });
  });

  /** Sends the event through Redis; answers the effects' answers, by name. */
  const send = async (event: HubEvent, asked: Array<HubEffect | undefined>): Promise<Record<string, unknown>> => {
    const keys = [hubMembersKey(event.roomId)];
    const args = [instance, CHANNEL_PREFIX, JSON.stringify(event)];
    for (const effect of asked) {
      if (!effect) {
        args.push("-", "-");
        continue;
      }
      keys.push(...effect.keys);
      args.push(String(effect.keys.length), String(effect.args.length), ...effect.args);
    }
    let reply: unknown[];
    try {
      reply = (await publisher.evalsha(sha, keys.length, ...keys, ...args)) as unknown[];
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith("NOSCRIPT"))) throw err;
      reply = (await publisher.eval(body, keys.length, ...keys, ...args)) as unknown[];
    }
    const answers: Record<string, unknown> = {};
    named.forEach(([name], i) => {
      if (reply[i + 1] !== null && reply[i + 1] !== undefined) answers[name] = reply[i + 1];
    });
    return answers;
  };

  return {
    async join(roomId, listener) {
      let listeners = rooms.get(roomId);
      if (!listeners) {
        listeners = new Set();
        rooms.set(roomId, listeners);
      }
      listeners.add(listener);
      // Always a new step after any change in flight (a leave's removal may be running).
      await sync(roomId);
    },
    async leave(roomId, listener) {
      const listeners = rooms.get(roomId);
      if (!listeners) return;
      listeners.delete(listener);
      if (listeners.size > 0) return;
      rooms.delete(roomId);
      await sync(roomId);
    },
    publish(event, context = {}) {
      deliver(event);
      const asked = effects.map((effect) => effect.of(event, context));
      const sent = send(event, asked).catch((err: unknown): Published => {
        effects.forEach((effect, i) => asked[i] && effect.lost?.(event));
        log.warn({ err: err instanceof Error ? err.message : err, type: event.type }, "hub publish failed; peers will catch up");
        return undefined;
      });
      // While Redis is away the publish waits in ioredis's offline queue: nobody should wait on
      // it (peers resync from MongoDB when it is back).
      return publisher.status === "ready" ? sent : Promise.resolve(undefined);
    },
    async close() {
      closed = true;
      const held = [...rooms.keys()];
      rooms.clear();
      await Promise.all(held.map(sync));
      await subscriber.quit().catch(() => undefined);
    },
  };
}
