/**
 * What the harness may do that an attacker cannot: read and alter the stack's MongoDB and Redis
 * directly. Used only to set a scene (a bit flipped on disk, a minute passed) and to check the
 * outcome (was anything stored, did the session come back), never to carry an attack.
 */
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import { codesSentEarlier, connectServices, stack } from "../../src/test/support.js";
import type { StackEnv } from "../lib/stack-env.js";

export type Backstage = {
  stack: StackEnv;
  redis: Redis;
  collection(name: string): mongoose.mongo.Collection;
  /** An ObjectId from its hex text, for queries by user id. */
  oid(hex: string): mongoose.Types.ObjectId;
  /** The id of the account with `email`, or "" if there is none. */
  userId(email: string): Promise<string>;
  /** Moves the send time of codes emailed to `email` into the past, as if `ms` had passed. */
  codesSentEarlier(email: string, ms: number): Promise<void>;
  close(): Promise<void>;
};

export async function openBackstage(): Promise<Backstage> {
  const services = await connectServices();
  const collection = (name: string) => {
    const db = services.mongo.db;
    if (!db) throw new Error("MongoDB is not connected");
    return db.collection(name);
  };
  return {
    stack,
    redis: services.redis,
    collection,
    oid: (hex) => new mongoose.Types.ObjectId(hex),
    async userId(email) {
      const user = await collection("users").findOne({ email: email.toLowerCase() }, { projection: { _id: 1 } });
      return user ? String(user._id) : "";
    },
    codesSentEarlier,
    close: () => services.close(),
  };
}
