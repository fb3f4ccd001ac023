/**
 * What the conversation list shows of each room (its newest message, sealed, and the unread
 * numbers of each member), kept in Redis as the room's events are published, so drawing the list
 * reads no message. Asking MongoDB instead costs two message queries per conversation per draw,
 * and the live list draws again on every change: on FerretDB, which scans the whole messages
 * collection for each, that was 1.2–1.7 s per query on a database of 4,500 messages
 * (docs/decisions/015-list-summaries.md).
 *
 * Per room, a hash `duet:sum:<room>` holds `lastSeq` and `last` (the newest message as the hub
 * carries it: ciphertext only), `lastEdit` / `lastDeleted` when it changed since, `members`, the
 * Redis `run` it was filled in, and `gen`, raised by every event. Per member, a sorted set
 * `duet:sum:<room>:unread:<member>` holds the numbers of the other member's messages they have
 * not read; the list counts those above the read marker MongoDB holds, so a trim that lags
 * never shows a read message as unread.
 *
 * The hub applies each event in the same script call that fans it out (`SUMMARY_EFFECT`), so
 * keeping this costs no round trip. MongoDB stays the truth: a room whose summary Redis does not
 * hold, or holds from another Redis run (a restart may have lost the last writes), is read from
 * MongoDB, and the result is kept only if no event of the room was published meanwhile (`gen`
 * unchanged); otherwise it is used once and read again next time. A room whose account data was
 * erased has its summary dropped the same way.
 */
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import { redisScript as script, runIdReader, type Run } from "./counters.js";
import type { HubEffect, HubEvent, SealedWire } from "./hub.js";
import { MessageModel } from "./message.model.js";
import { RoomModel } from "./room.model.js";
import { bytes } from "./rooms.js";

export const summaryKey = (roomId: string) => `duet:sum:${roomId}`;
const unreadKey = (roomId: string, member: string) => `${summaryKey(roomId)}:unread:${member}`;
// A summary nobody reads or changes for this long goes; the next list draw reads MongoDB again.
const TTL_SECONDS = 30 * 24 * 60 * 60;

/** The newest message of a room as the list needs it, in the shape `decryptStored` opens. */
export type LastMessage = {
  seq: number;
  senderId: string;
  clientId: string;
  kind: string;
  v?: number;
  keyId?: number;
  iv?: Buffer;
  ct?: Buffer;
  mac?: Buffer;
  createdAt: Date;
  editedAt?: Date;
};

/** The room as the list draws it: its newest message (if any) and my unread count. */
export type RoomSummary = { last: LastMessage | undefined; unread: number };

// What `last` holds (JSON): the message event's own fields.
type StoredLast = { seq: number; from: string; clientId: string; at: string; kind?: string; sealed?: SealedWire };
type StoredEdit = { at: string; sealed: SealedWire };

/**
 * Runs inside the hub's publish script, before the fan-out (hub.ts): keys[1] is the room's
 * summary; args: the change, a number, a member, a JSON value.
 */
export const SUMMARY_EFFECT = `
local h = keys[1]
local op, seq, who = args[1], tonumber(args[2]), args[3]
-- A key that is not a summary (damaged) is dropped: it must never stop the event going out.
local members = redis.pcall('HGET', h, 'members')
if type(members) == 'table' and members.err then
  redis.call('DEL', h)
  members = false
end
local a, b = string.match(members or '', '([^,]+),([^,]+)')
local function unread(member) return h .. ':unread:' .. member end
-- A change to a member's unread numbers; a damaged set is dropped, and with it the summary's
-- claim to be held (the next list draw counts from MongoDB again).
local function change(cmd, member, ...)
  local key = unread(member)
  local done = redis.pcall(cmd, key, ...)
  if type(done) == 'table' and done.err then
    redis.call('DEL', key)
    redis.call('HDEL', h, 'run')
  end
end
if op == 'gone' then
  redis.call('DEL', h)
  if a then redis.call('DEL', unread(a), unread(b)) end
else
  redis.call('HINCRBY', h, 'gen', 1)
  redis.call('EXPIRE', h, ${TTL_SECONDS})
end
if op ~= 'gone' and redis.call('HEXISTS', h, 'run') == 1 then
  local lastSeq = tonumber(redis.call('HGET', h, 'lastSeq') or '0')
  if op == 'message' then
    if seq > lastSeq then
      redis.call('HSET', h, 'lastSeq', seq, 'last', args[4])
      redis.call('HDEL', h, 'lastEdit', 'lastDeleted')
    end
    local other = (who == a) and b or a
    if other then
      change('ZADD', other, seq, seq)
      redis.call('EXPIRE', unread(other), ${TTL_SECONDS})
    end
  elseif op == 'edited' then
    if seq == lastSeq then redis.call('HSET', h, 'lastEdit', args[4]) end
  elseif op == 'deleted' then
    if seq == lastSeq then redis.call('HSET', h, 'lastDeleted', '1') end
    if a then
      change('ZREM', a, seq)
      change('ZREM', b, seq)
    end
  elseif op == 'read' then
    change('ZREMRANGEBYSCORE', who, '-inf', seq)
  end
end
`;

/** The summary change an event makes, for the hub to apply as it publishes it. */
export function summaryEffect(event: HubEvent): HubEffect | undefined {
  const keys = [summaryKey(event.roomId)];
  switch (event.type) {
    case "message": {
      const last: StoredLast = {
        seq: event.seq,
        from: event.from,
        clientId: event.clientId,
        at: event.at,
        ...(event.kind ? { kind: event.kind } : {}),
        sealed: event.sealed,
      };
      return { keys, args: ["message", String(event.seq), event.from, JSON.stringify(last)] };
    }
    case "edited":
      return {
        keys,
        args: [
          "edited",
          String(event.seq),
          event.from,
          JSON.stringify({ at: event.at, sealed: event.sealed } satisfies StoredEdit),
        ],
      };
    case "deleted":
      return { keys, args: ["deleted", String(event.seq), "", ""] };
    case "read":
      return { keys, args: ["read", String(event.seq), event.from, ""] };
    // The room is gone (its keys first): so is what the list kept of it.
    case "room-deleted":
      return { keys, args: ["gone", "0", "", ""] };
    default:
      return undefined;
  }
}

// KEYS[1]: the summary. Answers its generation (0 for a room never seen).
const GEN = `return tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')`;

// KEYS[1]: the summary. ARGV: the generation read before MongoDB, the run id, the members
// ("a,b"), the last number, the last message, its edit, whether it is deleted (JSON, JSON or "",
// "1" or "0"), then for each member: its id, how many numbers follow, those numbers. 1 if kept.
const FILL = `
local h = KEYS[1]
if tonumber(redis.call('HGET', h, 'gen') or '0') ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', h, 'run', ARGV[2], 'members', ARGV[3], 'lastSeq', ARGV[4])
redis.call('HDEL', h, 'last', 'lastEdit', 'lastDeleted')
if ARGV[5] ~= '' then redis.call('HSET', h, 'last', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', h, 'lastEdit', ARGV[6]) end
if ARGV[7] == '1' then redis.call('HSET', h, 'lastDeleted', '1') end
redis.call('EXPIRE', h, ${TTL_SECONDS})
local i = 8
while ARGV[i] do
  local key, n = h .. ':unread:' .. ARGV[i], tonumber(ARGV[i + 1])
  redis.call('DEL', key)
  for j = 1, n do redis.call('ZADD', key, ARGV[i + 1 + j], ARGV[i + 1 + j]) end
  if n > 0 then redis.call('EXPIRE', key, ${TTL_SECONDS}) end
  i = i + 2 + n
end
return 1`;

// KEYS: summaries. Marks each as not held (the next draw reads MongoDB) and stops fills in flight.
const DROP = `
for _, h in ipairs(KEYS) do
  redis.call('HINCRBY', h, 'gen', 1)
  redis.call('HDEL', h, 'run')
  redis.call('EXPIRE', h, ${TTL_SECONDS})
end
return 1`;

const genScript = script(GEN);
const fillScript = script(FILL);
const dropScript = script(DROP);

/** What a list draw knows of a room besides its summary: its members and their read markers. */
export type ListedRoom = { _id: string; members: readonly unknown[]; readUpTo?: Record<string, number> | Map<string, number> };

export type Summaries = {
  /** Each room's summary for `me`, from Redis, or read from MongoDB (and kept) where Redis has none. */
  of(rooms: readonly ListedRoom[], me: string): Promise<RoomSummary[]>;
  /** Forgets the rooms' summaries (their messages changed without events: an erased account). */
  drop(roomIds: readonly string[]): Promise<void>;
  /** An event of the room may not have reached its summary (its publish failed): dropped once Redis takes it. */
  lost(roomId: string): void;
  close(): void;
};

// How often drops that failed (Redis away) are tried again.
const RETRY_MS = 1_000;

export function createSummaries(redis: Redis): Summaries {
  const runs = runIdReader(redis);
  const unsure = new Set<string>();
  let retry: NodeJS.Timeout | undefined;
  const dropUnsure = () => {
    retry = undefined;
    const roomIds = [...unsure];
    unsure.clear();
    dropScript(redis, roomIds.map(summaryKey), []).catch(() => {
      for (const roomId of roomIds) unsure.add(roomId);
      retry ??= setTimeout(dropUnsure, RETRY_MS).unref();
    });
  };
  return {
    async of(rooms, me) {
      if (rooms.length === 0) return [];
      const fromMongoAlone = (room: ListedRoom) => fromMongo(room).then((read) => summaryFor(read, me, room));
      // Redis away or answering errors: the list is drawn from MongoDB, as it was before Redis held it.
      if (redis.status !== "ready") return Promise.all(rooms.map(fromMongoAlone));
      let run: Run;
      let answers: Array<[Error | null, unknown]>;
      try {
        run = await runs.current();
        const pipeline = redis.pipeline();
        for (const room of rooms) {
          pipeline.hmget(summaryKey(room._id), "run", "last", "lastEdit", "lastDeleted");
          pipeline.zcount(unreadKey(room._id, me), `(${readMarker(room, me)}`, "+inf");
        }
        answers = (await pipeline.exec()) ?? [];
      } catch {
        return Promise.all(rooms.map(fromMongoAlone));
      }
      return Promise.all(
        rooms.map(async (room, i) => {
          const [hashError, fields] = answers[2 * i] ?? [new Error("no answer"), null];
          const [countError, unread] = answers[2 * i + 1] ?? [new Error("no answer"), null];
          const [held, last, edit, deleted] = (hashError ? [] : fields) as Array<string | null>;
          if (!hashError && !countError && held === run.id && runs.still(run)) {
            try {
              return { last: lastFrom(last ?? null, edit ?? null, deleted === "1"), unread: Number(unread) };
            } catch {
              // Not what this code writes: read MongoDB instead.
            }
          }
          return summaryFor(await fill(redis, run.id, room), me, room);
        }),
      );
    },
    async drop(roomIds) {
      if (roomIds.length > 0) await dropScript(redis, roomIds.map(summaryKey), []);
    },
    lost(roomId) {
      unsure.add(roomId);
      retry ??= setTimeout(dropUnsure, RETRY_MS).unref();
    },
    close() {
      clearTimeout(retry);
    },
  };
}

/** Everything a fill reads from MongoDB: the newest message and each member's unread numbers. */
type Read = { last: LastMessage | undefined; unread: Map<string, number[]> };

function readMarker(room: ListedRoom, member: string): number {
  const reads = room.readUpTo;
  const marker = reads instanceof Map ? reads.get(member) : reads?.[member];
  return typeof marker === "number" ? marker : 0;
}

const membersOf = (room: ListedRoom) => room.members.map(String);

function summaryFor(read: Read, me: string, room: ListedRoom): RoomSummary {
  const marker = readMarker(room, me);
  return { last: read.last, unread: (read.unread.get(me) ?? []).filter((seq) => seq > marker).length };
}

async function fromMongo(room: ListedRoom): Promise<Read> {
  const members = membersOf(room);
  const [last, unseen] = await Promise.all([
    MessageModel.findOne({ roomId: room._id, kind: { $ne: "void" } })
      .sort({ seq: -1 })
      .lean(),
    // Both members' unread numbers in one read: the other member's messages after each marker.
    MessageModel.find(
      {
        roomId: room._id,
        seq: { $gt: Math.min(...members.map((m) => readMarker(room, m))) },
        kind: { $in: ["text", "attachment"] },
      },
      { seq: 1, senderId: 1 },
    ).lean(),
  ]);
  const unread = new Map(
    members.map((member) => [
      member,
      unseen
        .filter((doc) => String(doc.senderId) !== member && doc.seq > readMarker(room, member))
        .map((doc) => doc.seq)
        .sort((x, y) => x - y),
    ]),
  );
  if (!last) return { last: undefined, unread };
  return {
    last: {
      seq: last.seq,
      senderId: String(last.senderId),
      clientId: last.clientId,
      kind: last.kind,
      ...(last.kind === "deleted"
        ? {}
        : {
            v: last.v ?? 0,
            keyId: last.keyId ?? 0,
            ...(last.iv && last.ct && last.mac ? { iv: bytes(last.iv), ct: bytes(last.ct), mac: bytes(last.mac) } : {}),
          }),
      createdAt: last.createdAt,
      ...(last.editedAt ? { editedAt: last.editedAt } : {}),
    },
    unread,
  };
}

/** Reads the room from MongoDB and keeps it in Redis unless an event of the room came meanwhile. */
async function fill(redis: Redis, run: string, room: ListedRoom): Promise<Read> {
  const gen = Number(await genScript(redis, [summaryKey(room._id)], []).catch(() => NaN));
  if (Number.isNaN(gen)) return fromMongo(room);
  const read = await fromMongo(room);
  const { last } = read;
  const sealed: SealedWire | undefined =
    last?.iv && last.ct && last.mac
      ? {
          v: last.v ?? 0,
          keyId: last.keyId ?? 0,
          iv: last.iv.toString("base64"),
          ct: last.ct.toString("base64"),
          mac: last.mac.toString("base64"),
        }
      : undefined;
  const stored: StoredLast | undefined = last && {
    seq: last.seq,
    from: last.senderId,
    clientId: last.clientId,
    at: last.createdAt.toISOString(),
    ...(last.kind !== "text" && last.kind !== "deleted" ? { kind: last.kind } : {}),
    ...(sealed ? { sealed } : {}),
  };
  const edit: StoredEdit | undefined = last?.editedAt && sealed ? { at: last.editedAt.toISOString(), sealed } : undefined;
  const members = membersOf(room);
  const args: Array<string | number> = [
    gen,
    run,
    members.join(","),
    last?.seq ?? 0,
    stored ? JSON.stringify(stored) : "",
    edit ? JSON.stringify(edit) : "",
    last?.kind === "deleted" ? "1" : "0",
  ];
  for (const member of members) {
    const seqs = read.unread.get(member) ?? [];
    args.push(member, seqs.length, ...seqs);
  }
  // Not kept (Redis refused it): the next draw reads MongoDB again.
  await fillScript(redis, [summaryKey(room._id)], args).catch(() => undefined);
  return read;
}

/** The newest message from what the summary holds: the message, then its edit or deletion. */
function lastFrom(raw: string | null, edit: string | null, deleted: boolean): LastMessage | undefined {
  if (!raw) return undefined;
  const last = JSON.parse(raw) as StoredLast;
  const base = { seq: last.seq, senderId: last.from, clientId: last.clientId, createdAt: new Date(last.at) };
  if (deleted || !last.sealed) return { ...base, kind: "deleted" };
  const changed = edit ? (JSON.parse(edit) as StoredEdit) : undefined;
  const sealed = changed?.sealed ?? last.sealed;
  return {
    ...base,
    kind: last.kind ?? "text",
    v: sealed.v,
    keyId: sealed.keyId,
    iv: Buffer.from(sealed.iv, "base64"),
    ct: Buffer.from(sealed.ct, "base64"),
    mac: Buffer.from(sealed.mac, "base64"),
    ...(changed ? { editedAt: new Date(changed.at) } : {}),
  };
}

/** The ids of the rooms `userId` is a member of (to drop their summaries when their messages are erased). */
export async function roomIdsOf(userId: string): Promise<string[]> {
  const rooms = await RoomModel.find({ members: new mongoose.Types.ObjectId(userId) }, { _id: 1 }).lean();
  return rooms.map((room) => String(room._id));
}
