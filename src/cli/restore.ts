/**
 * `node dist/cli/restore.js [--no-indexes] FILE`: replaces each collection in the backup FILE
 * (from scripts/backup) in the app's database (MONGODB_URI); FILE `-` reads standard input.
 * The archive is checked whole before anything is replaced. scripts/restore asks first.
 */
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import mongoose from "mongoose";
import { ArchiveError, restoreArchive } from "../backup/archive.js";
import { readConfig, redact, scrub } from "../config.js";

const args = process.argv.slice(2);
const indexes = !args.includes("--no-indexes");
const source = args.filter((a) => a !== "--no-indexes");
if (source.length !== 1 || source[0]?.startsWith("--")) {
  process.stderr.write("usage: restore [--no-indexes] FILE   (FILE - reads standard input)\n");
  process.exit(64);
}
const { config } = readConfig();

// Standard input can be read only once, and the archive is read twice (check, then restore).
let file = source[0] ?? "-";
let spooled: string | undefined;
if (file === "-") {
  spooled = mkdtempSync(join(tmpdir(), "duet-restore-"));
  file = join(spooled, "archive.gz");
  await pipeline(process.stdin, createWriteStream(file, { mode: 0o600 }));
}

try {
  await mongoose.connect(config.mongodbUri, { serverSelectionTimeoutMS: 10_000 }).catch((err: unknown) => {
    throw new Error(
      `cannot reach MongoDB at ${redact(config.mongodbUri)}: ${scrub(err instanceof Error ? err.message : String(err), [config.mongodbUri])}`,
    );
  });
  const db = mongoose.connection.db;
  if (!db) throw new Error("connected without a database");
  const summary = await restoreArchive(db, file, { indexes });
  process.stderr.write(
    `restored ${summary.documents} documents in ${summary.collections.length} collections (backup of "${summary.database}" at ${summary.createdAt})\n`,
  );
} catch (err) {
  const refused = err instanceof ArchiveError;
  process.stderr.write(
    refused
      ? `Nothing restored: ${err.message}\n`
      : `restore failed: ${err instanceof Error ? err.message : String(err)}\nSome collections may be half restored: run the restore again.\n`,
  );
  process.exitCode = 1;
} finally {
  await mongoose.disconnect();
  if (spooled) rmSync(spooled, { recursive: true, force: true });
}
