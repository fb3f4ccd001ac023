/**
 * "Download your data": everything Duet holds about one user as a ZIP, built while it is sent.
 * Conversations are read a page at a time and decrypted as they are written, so an export of a
 * large history holds one page in memory, never the whole of it; nothing is written to disk.
 */
import { Readable } from "node:stream";
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import { ZipFile } from "yazl";
import { storedAvatar } from "../accounts/avatars.js";
import { listPasskeys } from "../accounts/passkeys.js";
import { UserModel, type User } from "../accounts/user.model.js";
import { readMessages, type Unreadable } from "../chat/history.js";
import { RoomModel } from "../chat/room.model.js";
import type { RoomKey } from "../chat/rooms.js";
import { listUserSessions } from "../http/session-store.js";
import { attachmentBytes, attachmentsOfRoom } from "./attachments.js";

export type ExportDeps = { redis: Redis; keyFor(roomId: string): Promise<RoomKey>; unreadable: Unreadable };

const PAGE = 500;

const README = `Your data from Duet
===================

profile.json          your account: address, name, status, sign-in methods, dates
avatar.webp           your picture, if you uploaded one
sessions.json         the browsers signed in to your account now
conversations/*.json  each conversation you are in, every message decrypted, oldest first
                      ("from" is "me" or the other person's name; deleted messages keep their
                      place and time without text)
conversations/*-files/  the files sent in that conversation, decrypted, named by message number
                      (a message's "attachment.file" says which one is its)

Messages are stored encrypted on the server; this file holds them in plain text: keep it safe.
`;

/** The export as a stream of ZIP bytes; fails before the first byte if the user does not exist. */
export async function exportYourData(deps: ExportDeps, userId: string, now = new Date()): Promise<Readable> {
  const user = await UserModel.findById(userId).lean<User>();
  if (!user) throw new Error("no such user");
  const zip = new ZipFile();
  const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  const mtime = now;

  zip.addBuffer(Buffer.from(README), "README.txt", { mtime });
  zip.addBuffer(
    json({
      id: String(user._id),
      email: user.email,
      displayName: user.displayName,
      status: user.status ?? "",
      signInWith: { password: Boolean(user.passwordHash), google: Boolean(user.googleSub) },
      // Their names and dates; the public keys say nothing to a person.
      passkeys: (await listPasskeys(userId)).map(({ name, createdAt, lastUsedAt }) => ({
        name,
        createdAt,
        lastUsedAt: lastUsedAt ?? null,
      })),
      createdAt: user.createdAt,
      updatedAt: user.updatedAt,
      lastSeenAt: user.lastSeenAt ?? null,
      settings: { notificationText: Boolean(user.notificationText) },
      exportedAt: now,
    }),
    "profile.json",
    { mtime },
  );
  const avatar = await storedAvatar(userId);
  if (avatar) zip.addBuffer(avatar, "avatar.webp", { mtime });
  const sessions = await listUserSessions(deps.redis, userId);
  zip.addBuffer(
    json(
      sessions.map((s) => ({
        browser: s.userAgent,
        address: s.ip,
        signedInAt: new Date(s.createdAt),
        lastActiveAt: new Date(s.seenAt),
      })),
    ),
    "sessions.json",
    { mtime },
  );

  const rooms = await RoomModel.find(
    { members: new mongoose.Types.ObjectId(userId), deletedAt: { $exists: false } },
    { members: 1 },
  )
    .sort({ _id: 1 })
    .lean();
  const peerIds = rooms.map((r) => r.members.map(String).find((m) => m !== userId) ?? userId);
  const peers = new Map(
    (await UserModel.find({ _id: { $in: peerIds } }, { displayName: 1 }).lean()).map((u) => [String(u._id), u.displayName]),
  );
  for (const [i, room] of rooms.entries()) {
    const peerId = peerIds[i] ?? "";
    const name = peers.get(peerId) ?? "Deleted account";
    const base = `conversations/${String(i + 1).padStart(3, "0")}-${fileSafe(name)}`;
    const key = await deps.keyFor(room._id);
    const files = await attachmentsOfRoom(key, room._id, `${base}-files`);
    const entries = new Map(files.map((f) => [f.seq, f.entry]));
    // Read only when the ZIP reaches this entry (entries are written one after another).
    zip.addReadStream(
      Readable.from(conversationJson(deps, room._id, userId, { id: peerId, displayName: name }, entries)),
      `${base}.json`,
      { mtime },
    );
    for (const file of files) zip.addReadStream(attachmentBytes(key, room._id, file), file.entry, { mtime });
  }
  zip.end();
  return zip.outputStream as Readable;
}

async function* conversationJson(
  deps: ExportDeps,
  roomId: string,
  me: string,
  peer: { id: string; displayName: string },
  files: ReadonlyMap<number, string>,
): AsyncGenerator<Buffer> {
  yield Buffer.from(`{\n  "conversationWith": ${JSON.stringify(peer)},\n  "messages": [`);
  const key = await deps.keyFor(roomId);
  let after = 0;
  let first = true;
  for (;;) {
    const page = await readMessages(key, roomId, { after, limit: PAGE }, deps.unreadable);
    for (const m of page) {
      const entry = {
        seq: m.seq,
        from: m.from === me ? "me" : peer.displayName,
        at: m.at,
        ...(m.deleted ? { deleted: true } : m.unreadable ? { unreadable: true } : { text: m.text }),
        ...(m.attachment && !m.deleted
          ? {
              attachment: {
                name: m.attachment.name,
                type: m.attachment.type,
                size: m.attachment.size,
                file: files.get(m.seq) ?? null,
              },
            }
          : {}),
        ...(m.editedAt ? { editedAt: m.editedAt } : {}),
      };
      yield Buffer.from(`${first ? "" : ","}\n    ${JSON.stringify(entry)}`);
      first = false;
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]?.seq ?? after;
  }
  yield Buffer.from(`\n  ]\n}\n`);
}

/** A name usable in a file name on every system: letters, digits, a few marks; at most 40. */
function fileSafe(name: string): string {
  return (
    name
      .normalize("NFKC")
      .replace(/[^\p{L}\p{N} ._-]+/gu, "")
      .trim()
      .replace(/\s+/g, "-")
      .slice(0, 40) || "someone"
  );
}
