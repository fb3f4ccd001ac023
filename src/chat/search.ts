/**
 * Finding text in one room's history. Messages are sealed at rest, so nothing can be indexed
 * (an index of words would be the plaintext, kept beside the ciphertext): each request opens at
 * most SCAN_LIMIT messages, newest first below a cursor, and matches them in memory. The answer
 * carries the cursor for the next window, so the work per request is bounded whatever the room's
 * size, and a long history is searched by paging on. The query lives only in this request: it
 * is never logged, stored or put in a URL (docs/decisions/013-search.md).
 */
import { decryptStored, type PlainMessage, type Unreadable } from "./history.js";
import { MessageModel } from "./message.model.js";
import { ensureKeys, type RoomKey } from "./rooms.js";

/** Messages opened per request: about 60 ms of work on the native stack (decision 013). */
export const SCAN_LIMIT = 500;
/** Matches returned per request; a window with more ends the page early at the last one returned. */
export const MAX_RESULTS = 50;
export const MAX_QUERY_LENGTH = 100;

export type SearchHit = Pick<PlainMessage, "seq" | "from" | "at" | "text" | "editedAt"> & { name?: string };

export type SearchPage = {
  results: SearchHit[];
  /** Search on below this number for older matches; null when the start of the room was reached. */
  next: number | null;
  /** How many messages this request opened. */
  scanned: number;
};

/** Lower-cased and NFC-normalised, so "É" typed one way matches "é" stored the other way. */
export const foldCase = (text: string) => text.normalize("NFC").toLowerCase();

/**
 * The messages below `before` (newest first) whose text or file name contains `query`, case
 * aside. Deleted and unreadable messages never match.
 */
export async function searchRoom(
  key: RoomKey,
  roomId: string,
  query: string,
  before: number | undefined,
  unreadable: Unreadable,
): Promise<SearchPage> {
  const needle = foldCase(query);
  const docs = await MessageModel.find({
    roomId,
    kind: { $in: ["text", "attachment"] },
    ...(before !== undefined ? { seq: { $lt: before } } : {}),
  })
    .sort({ seq: -1 })
    .limit(SCAN_LIMIT)
    .lean();
  await ensureKeys(key, new Set(docs.map((doc) => doc.keyId)));
  const results: SearchHit[] = [];
  let scanned = 0;
  for (const doc of docs) {
    scanned++;
    const message = decryptStored(key, roomId, doc, unreadable);
    if (message.unreadable || message.deleted) continue;
    const name = message.attachment?.name;
    if (!foldCase(message.text).includes(needle) && !(name && foldCase(name).includes(needle))) continue;
    results.push({
      seq: message.seq,
      from: message.from,
      at: message.at,
      text: message.text,
      ...(message.editedAt ? { editedAt: message.editedAt } : {}),
      ...(name ? { name } : {}),
    });
    if (results.length === MAX_RESULTS) break;
  }
  const last = docs[scanned - 1];
  // More below if this window was full, or it stopped early at the result limit.
  const more = last !== undefined && (docs.length === SCAN_LIMIT || scanned < docs.length) && last.seq > 1;
  return { results, next: more ? last.seq : null, scanned };
}
