/**
 * Files sent but not yet acknowledged, kept in IndexedDB (the browser's own copy of each File) so
 * that a reload, a closed tab or a crash loses none, as the text outbox does for messages
 * (outbox.ts): the next time the conversation opens they are uploaded again under the same
 * client id, which the server stores once (chat/attachments/upload.ts answers a finished upload
 * again). Signing out clears them with the rest of the site's storage (Clear-Site-Data). Where
 * IndexedDB is unavailable (some private modes), files live as long as the page, as before.
 */
import type { Quote } from "../chat/protocol.js";

export type KeptFile = { clientId: string; roomId: string; file: File; caption: string; at: string; replyTo?: Quote };

const DATABASE = "duet-files";
const STORE = "unsent";

let opening: Promise<IDBDatabase | undefined> | undefined;

function database(): Promise<IDBDatabase | undefined> {
  opening ??= new Promise<IDBDatabase | undefined>((resolve) => {
    try {
      const request = indexedDB.open(DATABASE, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "clientId" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => resolve(undefined);
      request.onblocked = () => resolve(undefined);
    } catch {
      resolve(undefined);
    }
  });
  return opening;
}

/** Runs one request in its own transaction; undefined if storage is unavailable or it failed. */
async function run<T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>): Promise<T | undefined> {
  const db = await database();
  if (!db) return undefined;
  return new Promise<T | undefined>((resolve) => {
    try {
      const transaction = db.transaction(STORE, mode);
      const request = act(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => resolve(undefined);
      transaction.onabort = () => resolve(undefined);
    } catch {
      resolve(undefined);
    }
  });
}

/** Keeps a file until it is acknowledged (or discarded). */
export async function keepFile(kept: KeptFile): Promise<void> {
  await run("readwrite", (store) => store.put(kept));
}

/** The file is acknowledged, cancelled or discarded: it is not kept any more. */
export async function dropFile(clientId: string): Promise<void> {
  await run("readwrite", (store) => store.delete(clientId));
}

/** The files of `roomId` still to be sent, oldest first; a record not of the expected shape is left out. */
export async function keptFiles(roomId: string): Promise<KeptFile[]> {
  const all: unknown[] = (await run("readonly", (store) => store.getAll())) ?? [];
  return all.filter((kept): kept is KeptFile => isKept(kept) && kept.roomId === roomId).sort((a, b) => a.at.localeCompare(b.at));
}

function isKept(value: unknown): value is KeptFile {
  const kept = value as Partial<KeptFile> | null;
  return (
    typeof kept === "object" &&
    kept !== null &&
    typeof kept.clientId === "string" &&
    typeof kept.roomId === "string" &&
    typeof kept.caption === "string" &&
    typeof kept.at === "string" &&
    kept.file instanceof Blob
  );
}

/** Drops every file kept for a conversation that was deleted: nothing can be sent to it. */
export async function forgetFiles(roomId: string): Promise<void> {
  for (const kept of await keptFiles(roomId)) await dropFile(kept.clientId);
}
