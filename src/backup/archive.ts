/**
 * Duet's backup archive: Duet's collections, documents and indexes, as gzipped lines of
 * canonical Extended JSON, so binary keys, ObjectIds and dates come back exactly; signed, so a
 * restore takes only what this installation wrote (src/backup/signature.ts).
 *
 * Written and read with the app's own MongoDB driver, so the same code backs up MongoDB 7 (in
 * Docker, run inside the app container) and the native stack's FerretDB, and nothing else has
 * to be installed: mongodump/mongorestore are not packaged for Debian and their Go module is
 * not served by the module proxy this project builds from.
 *
 * Layout, one JSON value a line:
 *   {"format":"duet-backup","version":2,"database":…,"createdAt":…}
 *   {"collection":NAME,"indexes":[…],"count":N}   then N lines {"d":<document>}
 *   …
 *   {"end":true,"collections":C,"documents":D}
 *   {"signature":<base64url HMAC-SHA256 of every byte above>,"algorithm":"HMAC-SHA256"}
 * The counts and the end line tell a truncated archive from a whole one, the signature an
 * altered or foreign one, and src/backup/known.ts what Duet would never have written, all
 * before a restore replaces anything.
 */
import { once } from "node:events";
import { pipeline } from "node:stream/promises";
import type { Writable } from "node:stream";
import { createGzip } from "node:zlib";
import mongoose from "mongoose";
import {
  ArchiveError,
  EJSON,
  FORMAT,
  VERSION,
  type ArchiveSummary,
  type CollectionSummary,
  type Db,
  type Document,
} from "./format.js";
import { DUET_COLLECTIONS, archivedIndex, duetIndexFor, type IndexSpec } from "./known.js";
import { checkArchive, readEntries } from "./read.js";
import { signer } from "./signature.js";

export { ArchiveError, type ArchiveSummary } from "./format.js";

// Documents in canonical form (an int stays an int, a long a long); the archive's own lines in
// relaxed form, so their counts read back as plain numbers.
const line = (value: unknown) => `${EJSON.stringify(value, { relaxed: true })}\n`;
const docLine = (doc: unknown) => `${EJSON.stringify({ d: doc }, { relaxed: false })}\n`;

/** Streams a signed backup of Duet's collections in `db` into `out` (gzipped); answers what it wrote. */
export async function writeArchive(db: Db, out: Writable, key: Buffer): Promise<ArchiveSummary> {
  const gzip = createGzip();
  const piped = pipeline(gzip, out);
  const mac = signer(key);
  const write = async (text: string) => {
    mac.update(text);
    if (!gzip.write(text)) await once(gzip, "drain");
  };
  const createdAt = new Date().toISOString();
  const summary: ArchiveSummary = { database: db.databaseName, createdAt, collections: [], documents: 0, skipped: [] };
  await write(line({ format: FORMAT, version: VERSION, database: db.databaseName, createdAt }));
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  for (const name of names) {
    if (!DUET_COLLECTIONS.has(name)) {
      summary.skipped.push(`collection ${name}`);
      continue;
    }
    const collection = db.collection(name);
    const indexes: IndexSpec[] = [];
    for (const index of await collection.indexes()) {
      if (index.name === "_id_") continue;
      const spec = archivedIndex(index);
      // An index someone added by hand is left out, so the archive restores as a whole.
      if (typeof duetIndexFor(name, spec) === "string") summary.skipped.push(`index ${spec.name} on ${name}`);
      else indexes.push(spec);
    }
    // Counted first so the archive can say how many follow; nothing should write meanwhile
    // (the README says to stop the app), and a mismatch would fail the restore's check.
    const count = await collection.countDocuments();
    await write(line({ collection: name, indexes, count }));
    let written = 0;
    for await (const doc of collection.find({}, { sort: { _id: 1 } })) {
      await write(docLine(doc));
      written++;
    }
    if (written !== count)
      throw new ArchiveError(
        `${name} changed during the backup (${count} counted, ${written} read): stop the app and run it again`,
      );
    summary.collections.push({ name, count, indexes });
    summary.documents += count;
  }
  await write(line({ end: true, collections: summary.collections.length, documents: summary.documents }));
  gzip.end(mac.signatureLine());
  await piped;
  return summary;
}

/**
 * Replaces each collection the archive holds with its contents (others are left alone), then
 * creates the indexes Duet defines on it. The whole archive is checked first, so a damaged,
 * unsigned or foreign one replaces nothing. `file` must not change meanwhile: the CLI reads
 * from a private copy.
 */
export async function restoreArchive(
  db: Db,
  file: string,
  options: { indexes: boolean; keys: readonly Buffer[] },
): Promise<ArchiveSummary> {
  const summary = await checkArchive(file, options.keys);
  const batchSize = 500;
  let batch: Document[] = [];
  let target: CollectionSummary | undefined;
  const flush = async () => {
    if (target && batch.length > 0) await db.collection(target.name).insertMany(batch, { ordered: true });
    batch = [];
  };
  const finish = async () => {
    await flush();
    // All of Duet's own definitions; the archive's list was only checked, never used.
    if (target && options.indexes)
      for (const { key, options: indexOptions } of DUET_COLLECTIONS.get(target.name) ?? [])
        await db.collection(target.name).createIndex(key, indexOptions);
  };
  for await (const entry of readEntries(file)) {
    if (entry.kind === "collection") {
      await finish();
      target = entry.summary;
      await db
        .collection(target.name)
        .drop()
        .catch((err: unknown) => {
          // Not there yet is fine: it is about to be created.
          if (!(err instanceof mongoose.mongo.MongoServerError && err.codeName === "NamespaceNotFound")) throw err;
        });
      await db.createCollection(target.name);
    } else {
      batch.push(entry.doc);
      if (batch.length >= batchSize) await flush();
    }
  }
  await finish();
  return summary;
}
