/**
 * Profiles of strangers: a signed-in user walks user ids (ObjectIds from one process are nearly
 * sequential: a timestamp, a per-process value and a counter) around a stranger's, and asks for
 * the profile and the picture of each, and of the most recent accounts. Only people who share a
 * conversation with the walker (and the walker) may be seen; anyone else is the same 404 as an
 * id nobody has.
 */
import mongoose from "mongoose";
import type { Backstage } from "../backstage.js";
import { openEdgeBrowser } from "../edge.js";
import { roomOf, signUp } from "../people.js";
import { tally, type Attack } from "../types.js";

/** Ids around `id`: the same timestamp and process part, the counter `radius` either way. */
export function neighbours(id: string, radius: number): string[] {
  const bytes = Buffer.from(id, "hex");
  const counter = bytes.readUIntBE(9, 3);
  const ids: string[] = [];
  for (let d = -radius; d <= radius; d++) {
    const copy = Buffer.from(bytes);
    copy.writeUIntBE((counter + d + 0x1000000) % 0x1000000, 9, 3);
    ids.push(copy.toString("hex"));
  }
  return ids;
}

async function mayBeSeen(backstage: Backstage, viewer: string, subject: string): Promise<boolean> {
  if (viewer === subject) return true;
  const pairKey = [viewer, subject].sort().join(":");
  return (await backstage.collection("rooms").countDocuments({ pairKey })) > 0;
}

export const strangerProfiles: Attack = {
  name: "profiles of strangers",
  async run({ effort, backstage }) {
    const t = tally();
    const walker = await signUp(backstage, "walker");
    const friend = await signUp(backstage, "friend");
    const stranger = await signUp(backstage, "stranger");
    await roomOf(walker, friend);
    const radius = effort === "short" ? 4 : 40;
    const recent = await backstage
      .collection("users")
      .find({}, { projection: { _id: 1 } })
      .sort({ _id: -1 })
      .limit(effort === "short" ? 10 : 100)
      .toArray();
    const ids = new Set([
      ...neighbours(stranger.id, radius),
      ...neighbours(walker.id, radius),
      ...recent.map((u) => String(u._id)),
      new mongoose.Types.ObjectId().toHexString(),
    ]);
    let seen = 0;
    for (const id of ids) {
      const allowed = await mayBeSeen(backstage, walker.id, id);
      for (const path of [`/people/${id}`, `/avatars/${id}?v=0`]) {
        const res = await walker.browser.get(path);
        if (allowed) {
          if (res.status === 200) seen++;
          continue;
        }
        t.attempt(res.status === 404, `${path} answered ${res.status} to someone who shares no conversation`);
      }
    }
    const signedOut = await openEdgeBrowser().get(`/people/${friend.id}`);
    t.attempt(signedOut.status === 302, `a signed-out visitor got ${signedOut.status} for a profile`);
    t.note(`${ids.size} ids walked; ${seen} answers for the walker and the friend (expected 4)`);
    return t.outcome;
  },
};
