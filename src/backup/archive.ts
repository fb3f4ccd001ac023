/**
 * Duet's backup archive: every collection of the database, documents and indexes, as gzipped
 * lines of canonical Extended JSON, so binary keys, ObjectIds and dates come back exactly.
 *
 * Written and read with the app's own MongoDB driver, so the same code backs up MongoDB 7 (in
 * Docker, run inside the app container) and the native stack's FerretDB, and nothing else has
 * to be installed: mongodump/mongorestore are not packaged for Debian and their Go module is
 * not served by the module proxy this project builds from.
 *
 * Layout, one JSON value a line:
 *   {"format":"duet-backup","version":1,"database":…,"createdAt":…}
 *   {"collection":NAME,"indexes":[…],"count":N}   then N lines {"d":<document>}
 *   …
 *   {"end":true,"collections":C,"documents":D}
 * The counts and the end line let a restore tell a truncated or altered archive from a whole
 * one before it replaces anything.
 */
import { once } from "node:events";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { pipeline } from "node:stream/promises";
import type { Writable } from "node:stream";
import { createGunzip, createGzip } from "node:zlib";
import mongoose from "mongoose";

type Db = NonNullable<typeof mongoose.connection.db>;
type Document = Record<string, unknown>;
const { EJSON } = mongoose.mongo.BSON;

export const FORMAT = "duet-backup";
export const VERSION = 1;

/** The index options an archive keeps: the ones the app uses and both servers accept. */
const INDEX_OPTIONS = ["unique", "sparse", "expireAfterSeconds", "partialFilterExpression"] as const;

export type IndexSpec = { name: string; key: Record<string, mongoose.mongo.IndexDirection> } & Pick<
  mongoose.mongo.CreateIndexesOptions,
  (typeof INDEX_OPTIONS)[number]
>;
export type CollectionSummary = { name: string; count: number; indexes: IndexSpec[] };
export type ArchiveSummary = { database: string; createdAt: string; collections: CollectionSummary[]; documents: number };

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArchiveError";
  }
}

// Documents in canonical form (an int stays an int, a long a long); the archive's own lines in
// relaxed form, so their counts read back as plain numbers.
const line = (value: unknown) => `${EJSON.stringify(value, { relaxed: true })}\n`;
const docLine = (doc: unknown) => `${EJSON.stringify({ d: doc }, { relaxed: false })}\n`;

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, "drain");
}

/** Streams a backup of `db` into `out` (gzipped); answers what it wrote. */
export async function writeArchive(db: Db, out: Writable): Promise<ArchiveSummary> {
  const gzip = createGzip();
  const piped = pipeline(gzip, out);
  const createdAt = new Date().toISOString();
  const summary: ArchiveSummary = { database: db.databaseName, createdAt, collections: [], documents: 0 };
  await write(gzip, line({ format: FORMAT, version: VERSION, database: db.databaseName, createdAt }));
  const names = (await db.listCollections({}, { nameOnly: true }).toArray())
    .map((c) => c.name)
    .filter((name) => !name.startsWith("system."))
    .sort();
  for (const name of names) {
    const collection = db.collection(name);
    const indexes = (await collection.indexes()).filter((index) => index.name !== "_id_").map(keepIndex);
    // Counted first so the archive can say how many follow; nothing should write meanwhile
    // (the README says to stop the app), and a mismatch would fail the restore's check.
    const count = await collection.countDocuments();
    await write(gzip, line({ collection: name, indexes, count }));
    let written = 0;
    for await (const doc of collection.find({}, { sort: { _id: 1 } })) {
      await write(gzip, docLine(doc));
      written++;
    }
    if (written !== count)
      throw new ArchiveError(
        `${name} changed during the backup (${count} counted, ${written} read): stop the app and run it again`,
      );
    summary.collections.push({ name, count, indexes });
    summary.documents += count;
  }
  await write(gzip, line({ end: true, collections: names.length, documents: summary.documents }));
  gzip.end();
  await piped;
  return summary;
}

function keepIndex(index: Document): IndexSpec {
  const spec: IndexSpec = { name: String(index.name), key: index.key as IndexSpec["key"] };
  for (const option of INDEX_OPTIONS) if (index[option] !== undefined) Object.assign(spec, { [option]: index[option] });
  return spec;
}

type Entry = { kind: "collection"; summary: CollectionSummary } | { kind: "doc"; doc: Document };

/** Reads an archive file, checking every line; yields its collections and documents in order. */
async function* readEntries(file: string): AsyncGenerator<Entry, ArchiveSummary> {
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  let n = 0;
  const fail = (why: string): never => {
    throw new ArchiveError(`${file}: line ${n}: ${why}`);
  };
  let summary: ArchiveSummary | undefined;
  let current: CollectionSummary | undefined;
  let seen = 0;
  let ended = false;
  try {
    for await (const text of lines) {
      n++;
      if (ended) fail("data after the end of the archive");
      let value: Document;
      try {
        const raw = JSON.parse(text) as Document;
        value =
          typeof raw === "object" && raw !== null && "d" in raw
            ? { d: EJSON.deserialize(raw.d as Document, { relaxed: false }) }
            : (EJSON.deserialize(raw, { relaxed: true }) as Document);
      } catch {
        return fail("not valid Extended JSON");
      }
      if (!summary) {
        if (value.format !== FORMAT) fail("not a Duet backup (made by scripts/backup?)");
        if (value.version !== VERSION) fail(`archive version ${String(value.version)}; this Duet reads version ${VERSION}`);
        summary = { database: String(value.database), createdAt: String(value.createdAt), collections: [], documents: 0 };
        continue;
      }
      if ("d" in value) {
        if (!current || seen >= current.count) fail("a document outside any collection");
        if (typeof value.d !== "object" || value.d === null || !("_id" in value.d)) fail("a document without an _id");
        seen++;
        yield { kind: "doc", doc: value.d as Document };
        continue;
      }
      if (current && seen !== current.count) fail(`${current.name} has ${seen} documents, the archive said ${current.count}`);
      if (typeof value.collection === "string") {
        const count = value.count;
        if (typeof count !== "number" || !Number.isInteger(count) || count < 0) fail("a collection without a valid count");
        if (!Array.isArray(value.indexes)) fail("a collection without its index list");
        current = { name: value.collection, count: count as number, indexes: value.indexes as IndexSpec[] };
        seen = 0;
        summary.collections.push(current);
        summary.documents += current.count;
        yield { kind: "collection", summary: current };
      } else if (value.end === true) {
        if (value.documents !== summary.documents || value.collections !== summary.collections.length)
          fail("the end line does not match what came before it");
        ended = true;
      } else {
        fail("an unknown line");
      }
    }
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    throw new ArchiveError(`${file}: cannot read it (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!summary) throw new ArchiveError(`${file}: empty`);
  if (!ended) throw new ArchiveError(`${file}: cut short (no end line after line ${n}): nothing restored`);
  return summary;
}

/** Reads the whole archive and checks it without touching any database. */
async function checkArchive(file: string): Promise<ArchiveSummary> {
  const entries = readEntries(file);
  for (;;) {
    const next = await entries.next();
    if (next.done) return next.value;
  }
}

/**
 * Replaces each collection the archive holds with its contents (others are left alone). The
 * whole archive is checked first, so a damaged one replaces nothing.
 */
export async function restoreArchive(db: Db, file: string, options: { indexes: boolean }): Promise<ArchiveSummary> {
  const summary = await checkArchive(file);
  const batchSize = 500;
  let batch: Document[] = [];
  let target: CollectionSummary | undefined;
  const flush = async () => {
    if (target && batch.length > 0) await db.collection(target.name).insertMany(batch, { ordered: true });
    batch = [];
  };
  const finish = async () => {
    await flush();
    if (target && options.indexes)
      for (const { key, ...rest } of target.indexes) await db.collection(target.name).createIndex(key, rest);
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
