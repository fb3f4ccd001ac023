/**
 * Reads an archive back, checking each line as it comes: its form, its counts, that it holds
 * only Duet's collections and indexes (src/backup/known.ts) and, when asked, its signature.
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { ArchiveError, EJSON, FORMAT, VERSION, type ArchiveSummary, type CollectionSummary, type Document } from "./format.js";
import { DUET_COLLECTIONS, duetIndexFor, type IndexSpec } from "./known.js";
import { splitLines } from "./lines.js";
import { ALGORITHM, verifier } from "./signature.js";

const NEWLINE = Buffer.from("\n");

/** The file's uncompressed bytes; a read error (no such file) surfaces as the stream's error. */
function gunzipped(file: string): Readable {
  const gunzip = createGunzip();
  createReadStream(file)
    .on("error", (err) => gunzip.destroy(err))
    .pipe(gunzip);
  return gunzip;
}

export type Entry = { kind: "collection"; summary: CollectionSummary } | { kind: "doc"; doc: Document };

function parseLine(bytes: Buffer): Document {
  const raw = JSON.parse(bytes.toString("utf8")) as unknown;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("not an object");
  return "d" in raw
    ? { d: EJSON.deserialize((raw as Document).d as Document, { relaxed: false }) }
    : (EJSON.deserialize(raw as Document, { relaxed: true }) as Document);
}

/**
 * Reads an archive file, checking every line; yields its collections and documents in order.
 * With `keys`, the signature must match one of them: checked after the last line, so a caller
 * acts on nothing until the whole file has been read (checkArchive).
 */
export async function* readEntries(file: string, keys?: readonly Buffer[]): AsyncGenerator<Entry, ArchiveSummary> {
  const mac = keys ? verifier(keys) : undefined;
  let n = 0;
  const fail = (why: string): never => {
    throw new ArchiveError(`${file}: line ${n}: ${why}`);
  };
  let summary: ArchiveSummary | undefined;
  let current: CollectionSummary | undefined;
  let seen = 0;
  let ended = false;
  let signature: string | undefined;
  try {
    for await (const bytes of splitLines(gunzipped(file))) {
      n++;
      if (signature !== undefined) fail("data after the signature");
      let value: Document;
      try {
        value = parseLine(bytes);
      } catch {
        return fail("not valid Extended JSON");
      }
      if (ended) {
        if (typeof value.signature !== "string" || value.algorithm !== ALGORITHM) fail("data after the end of the archive");
        signature = value.signature as string;
        continue;
      }
      mac?.update(bytes);
      mac?.update(NEWLINE);
      if (!summary) {
        if (value.format !== FORMAT) fail("not a Duet backup (made by scripts/backup?)");
        if (value.version === 1) fail("made before Duet signed its backups (format version 1), so it cannot be trusted");
        if (value.version !== VERSION) fail(`archive version ${String(value.version)}; this Duet reads version ${VERSION}`);
        summary = {
          database: String(value.database),
          createdAt: String(value.createdAt),
          collections: [],
          documents: 0,
          skipped: [],
        };
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
        const name = value.collection;
        const count = value.count;
        if (!DUET_COLLECTIONS.has(name)) fail(`${name} is not a collection Duet writes`);
        if (summary.collections.some((c) => c.name === name)) fail(`${name} appears twice`);
        if (typeof count !== "number" || !Number.isInteger(count) || count < 0) fail("a collection without a valid count");
        if (!Array.isArray(value.indexes)) fail("a collection without its index list");
        for (const index of value.indexes as unknown[]) {
          const known = duetIndexFor(name, index);
          if (typeof known === "string") fail(known);
        }
        current = { name, count: count as number, indexes: value.indexes as IndexSpec[] };
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
  if (mac) {
    if (signature === undefined) throw new ArchiveError(`${file}: not signed (its last line should be the signature)`);
    if (!mac.matches(signature))
      throw new ArchiveError(
        `${file}: the signature does not match: the archive was altered, or signed by another installation ` +
          "(to restore that one's archive, set BACKUP_SIGNING_KEY to its key; see the README's Backups)",
      );
  }
  return summary;
}

/** Reads the whole archive and checks its form and signature without touching any database. */
export async function checkArchive(file: string, keys: readonly Buffer[]): Promise<ArchiveSummary> {
  const entries = readEntries(file, keys);
  for (;;) {
    const next = await entries.next();
    if (next.done) return next.value;
  }
}
