/**
 * What a request to a form may change, read straight from MongoDB and Redis: the fuzzing user's
 * account (name, status, email, password, picture, verification, Google link), its live
 * sessions, its pending codes and reset links, its conversation's blocks, and how many accounts,
 * sign-ups and rooms exist. (Messages are written by sockets only; the frame fuzzer watches them.) Rate-limit counters and code attempt counts are left out:
 * a refusal is allowed to count against the one who was refused.
 */
import { createHash } from "node:crypto";
import type mongoose from "mongoose";
import type { Backstage } from "./backstage.js";

export type Watched = { userId: string; roomId: string; sessionCookie: () => string };

const sessionKey = (handle: string) => `duet:sess:${handle}`;
const handleOf = (cookie: string) => createHash("sha256").update(cookie).digest("base64url");

/** A description of the watched state; two equal strings mean nothing watched changed. */
export async function watchedState(backstage: Backstage, w: Watched): Promise<string> {
  const id = { _id: backstage.oid(w.userId) };
  const [user, room, codes, tokens, avatar, counts, handles] = await Promise.all([
    backstage.collection("users").findOne(id, {
      projection: { displayName: 1, status: 1, email: 1, passwordHash: 1, emailVerified: 1, avatarVersion: 1, googleSub: 1 },
    }),
    backstage.collection("rooms").findOne({ _id: w.roomId as never }, { projection: { blockedBy: 1, hiddenFor: 1 } }),
    backstage
      .collection("emailcodes")
      .find({ userId: id._id }, { projection: { _id: 0, email: 1, purpose: 1, codeHash: 1 } })
      .sort({ email: 1 })
      .toArray(),
    backstage.collection("resettokens").countDocuments({ userId: id._id, usedAt: null }),
    backstage.collection("avatars").findOne({ userId: id._id }, { projection: { image: 1 } }),
    Promise.all(["users", "pendingsignups", "rooms"].map((c) => backstage.collection(c).estimatedDocumentCount())),
    backstage.redis.smembers(`duet:user-sessions:${w.userId}`),
  ]);
  const live = (
    await Promise.all(handles.sort().map(async (h) => ((await backstage.redis.exists(sessionKey(h))) ? h : "")))
  ).filter(Boolean);
  return JSON.stringify({
    user,
    room,
    codes,
    tokens,
    avatar: avatar
      ? createHash("sha256")
          .update((avatar.image as mongoose.mongo.Binary).buffer)
          .digest("hex")
      : null,
    counts,
    live,
    thisSession: live.includes(handleOf(w.sessionCookie())),
  });
}

/** Which top-level parts of two descriptions differ. */
export function differences(before: string, after: string): string[] {
  const a = JSON.parse(before) as Record<string, unknown>;
  const b = JSON.parse(after) as Record<string, unknown>;
  return Object.keys(a).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}
