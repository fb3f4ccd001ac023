/**
 * `node dist/cli/rotate-keys.js`: rewraps every room key under the first MASTER_KEYS entry.
 * Rotation: put a new key first (`MASTER_KEYS=k2:<new>,k1:<old>`), restart the app, run this,
 * then remove the old key. Exits 1 if any room could not be rewrapped (it names them).
 */
import mongoose from "mongoose";
import { rewrapRoomKeys } from "../chat/key-rotation.js";
import { readConfig, redact, scrub } from "../config.js";

const { config } = readConfig();
await mongoose.connect(config.mongodbUri, { serverSelectionTimeoutMS: 10_000 }).catch((err: unknown) => {
  process.stderr.write(
    `cannot reach MongoDB at ${redact(config.mongodbUri)}: ${scrub(err instanceof Error ? err.message : String(err), [config.mongodbUri])}\n`,
  );
  process.exit(1);
});
const report = await rewrapRoomKeys(config.masterKeys);
await mongoose.disconnect();
process.stdout.write(
  `rewrapped ${report.rewrapped} room keys under "${config.masterKeys[0]?.id}"; ${report.alreadyCurrent} already were\n`,
);
for (const failure of report.failed) process.stderr.write(`room ${failure.roomId}: ${failure.reason}\n`);
process.exit(report.failed.length > 0 ? 1 : 0);
