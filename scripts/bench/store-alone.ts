/**
 * `node --import tsx scripts/bench/store-alone.ts --stack-dir DIR --rooms N --rates 100,250 --seconds 10`:
 * Duet's store path alone (store-floor.ts) against the stack in DIR; prints its steps as one
 * line of JSON on stdout, progress on stderr. The bench runs it in a process of its own, so the
 * bench itself never loads the app's modules.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { existsSync, readFileSync } from "node:fs";
import { Redis } from "ioredis";
import mongoose from "mongoose";
import { readStackEnv } from "../lib/stack-env.js";
import { measureStoreFloor } from "./store-floor.js";

const { values: flags } = parseArgs({
  options: {
    "stack-dir": { type: "string" },
    rooms: { type: "string", default: "250" },
    rates: { type: "string", default: "100,250,500,1000,2000" },
    seconds: { type: "string", default: "10" },
  },
});

async function main(): Promise<void> {
  const dir = flags["stack-dir"];
  if (!dir) throw new Error("--stack-dir is required");
  const stack = readStackEnv(dir);
  const pidOf = (name: string) => Number(readFileSync(join(dir, "pids", `${name}.pid`), "utf8").trim());
  const dbPids = existsSync(join(dir, "pids", "postgres.pid")) ? [pidOf("ferretdb"), pidOf("postgres")] : [pidOf("ferretdb")];
  // A stack started before it published them: SQLite's pacing with the app's default in flight.
  const writes = {
    inFlight: Number(stack.MESSAGE_WRITES_IN_FLIGHT ?? 4),
    pauseMs: Number(stack.ROOM_ACTIVITY_PAUSE_MS ?? 20),
  };
  process.stderr.write(
    `[bench] store alone on ${stack.STACK_DB ?? "an unnamed database"}: ${writes.inFlight} inserts in flight, room activity paused ${writes.pauseMs} ms\n`,
  );
  await mongoose.connect(stack.MONGODB_URI, { serverSelectionTimeoutMS: 5000 });
  const redis = new Redis(stack.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const steps = await measureStoreFloor(
      redis,
      Number(flags.rooms),
      flags.rates.split(",").map(Number),
      Number(flags.seconds),
      dbPids,
      writes,
      (line) => process.stderr.write(`[bench] ${line}\n`),
    );
    process.stdout.write(`${JSON.stringify(steps)}\n`);
  } finally {
    redis.disconnect();
    await mongoose.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench] store alone: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
