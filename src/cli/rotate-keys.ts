/**
 * `node dist/cli/rotate-keys.js`: rewraps every room key, and reseals every two-factor secret,
 * under the first MASTER_KEYS entry. Rotation: put a new key first (`MASTER_KEYS=k2:<new>,k1:<old>`),
 * restart the app, run this, then remove the old key. Exits 1 if any room key or two-factor
 * secret could not be moved to the new key (it names them).
 *
 * `node dist/cli/rotate-keys.js --rekey-rooms [ROOM_ID ...]`: gives every room (or the rooms
 * named) a new data key for its new messages, and tells the running instances. Exits 1 if a
 * named room does not exist or has no key.
 */
import { Redis } from "ioredis";
import mongoose from "mongoose";
import { resealTwoFactorSecrets } from "../accounts/two-factor-reseal.js";
import { rewrapRoomKeys } from "../chat/key-rotation.js";
import { announceRekeys, rekeyRoom } from "../chat/room-rekey.js";
import { RoomModel } from "../chat/room.model.js";
import { readConfig, redact, scrub } from "../config.js";

// Read by hand, not with parseArgs: a room id is base64url and may start with "-".
const [flag, ...positionals] = process.argv.slice(2);
const rekeyRooms = flag === "--rekey-rooms";
if (flag !== undefined && !rekeyRooms) {
  process.stderr.write("usage: rotate-keys [--rekey-rooms [ROOM_ID ...]]\n");
  process.exit(64);
}

const { config } = readConfig();
await mongoose.connect(config.mongodbUri, { serverSelectionTimeoutMS: 10_000 }).catch((err: unknown) => {
  process.stderr.write(
    `cannot reach MongoDB at ${redact(config.mongodbUri)}: ${scrub(err instanceof Error ? err.message : String(err), [config.mongodbUri])}\n`,
  );
  process.exit(1);
});
const master = config.masterKeys[0];

if (!rekeyRooms) {
  const report = await rewrapRoomKeys(config.masterKeys);
  const secrets = await resealTwoFactorSecrets(config.masterKeys);
  await mongoose.disconnect();
  process.stdout.write(`rewrapped ${report.rewrapped} room keys under "${master?.id}"; ${report.alreadyCurrent} already were\n`);
  process.stdout.write(
    `resealed ${secrets.resealed} two-factor secrets under "${master?.id}"; ${secrets.alreadyCurrent} already were\n`,
  );
  for (const failure of report.failed) process.stderr.write(`room ${failure.roomId}: ${failure.reason}\n`);
  for (const failure of secrets.failed) process.stderr.write(`two-factor of user ${failure.userId}: ${failure.reason}\n`);
  process.exit(report.failed.length + secrets.failed.length > 0 ? 1 : 0);
}

if (!master) throw new Error("no master key configured");
const roomIds =
  positionals.length > 0 ? positionals : (await RoomModel.find({ key: { $exists: true } }, { _id: 1 }).lean()).map((r) => r._id);
const rekeyed: string[] = [];
let failed = 0;
for (const roomId of roomIds) {
  const keyId = await rekeyRoom(master, roomId);
  if (keyId === undefined) {
    failed++;
    process.stderr.write(`room ${roomId}: no such room, or its keys were deleted\n`);
  } else rekeyed.push(roomId);
}
await mongoose.disconnect();
process.stdout.write(`re-keyed ${rekeyed.length} rooms: their new messages use a new data key\n`);

// The instances would read the new keys within minutes anyway (their key cache's age limit);
// told now, they use them for the next message.
const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
redis.on("error", () => undefined);
try {
  await redis.connect();
  await announceRekeys(redis, rekeyed);
  await redis.quit();
} catch (err) {
  process.stderr.write(
    `could not tell the running instances through Redis (${scrub(err instanceof Error ? err.message : String(err), [config.redisUrl])}); they switch to the new keys within 5 minutes\n`,
  );
  redis.disconnect();
}
process.exit(failed > 0 ? 1 : 0);
