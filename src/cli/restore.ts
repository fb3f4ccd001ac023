/**
 * `node dist/cli/restore.js [--no-indexes] FILE`: replaces each collection in the backup FILE
 * (from scripts/backup) in the app's database (MONGODB_URI); FILE `-` reads standard input.
 * The archive is checked whole, signature included, before anything is replaced: it must be
 * signed with this installation's key (SESSION_SECRETS) or BACKUP_SIGNING_KEY.
 * scripts/restore asks first.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import mongoose from "mongoose";
import { ArchiveError, restoreArchive } from "../backup/archive.js";
import { backupKeys } from "../backup/signature.js";
import { readConfig, redact, scrub } from "../config.js";

const args = process.argv.slice(2);
const indexes = !args.includes("--no-indexes");
const source = args.filter((a) => a !== "--no-indexes");
if (source.length !== 1 || source[0]?.startsWith("--")) {
  process.stderr.write("usage: restore [--no-indexes] FILE   (FILE - reads standard input)\n");
  process.exit(64);
}
const { config } = readConfig();
const input = source[0] ?? "-";

// The archive is read twice (checked, then restored), so it is first copied where only this
// process writes: a file swapped or rewritten between the two reads cannot slip past the
// check. Standard input could not be read twice anyway.
const spool = mkdtempSync(join(tmpdir(), "duet-restore-"));
const file = join(spool, "archive.gz");

try {
  await pipeline(input === "-" ? process.stdin : createReadStream(input), createWriteStream(file, { mode: 0o600 })).catch(
    (err: unknown) => {
      throw new ArchiveError(`${input}: cannot read it (${err instanceof Error ? err.message : String(err)})`);
    },
  );
  // The models are loaded only to read Duet's index definitions (src/backup/known.ts): they
  // must not create collections or indexes in the database being restored.
  await mongoose
    .connect(config.mongodbUri, { serverSelectionTimeoutMS: 10_000, autoIndex: false, autoCreate: false })
    .catch((err: unknown) => {
      throw new Error(
        `cannot reach MongoDB at ${redact(config.mongodbUri)}: ${scrub(err instanceof Error ? err.message : String(err), [config.mongodbUri])}`,
      );
    });
  const db = mongoose.connection.db;
  if (!db) throw new Error("connected without a database");
  const summary = await restoreArchive(db, file, { indexes, keys: backupKeys(config).verifying });
  process.stderr.write(
    `restored ${summary.documents} documents in ${summary.collections.length} collections (backup of "${summary.database}" at ${summary.createdAt})\n`,
  );
} catch (err) {
  const refused = err instanceof ArchiveError;
  process.stderr.write(
    refused
      ? `Nothing restored: ${err.message.replaceAll(file, input === "-" ? "the archive" : input)}\n`
      : `restore failed: ${err instanceof Error ? err.message : String(err)}\nSome collections may be half restored: run the restore again.\n`,
  );
  process.exitCode = 1;
} finally {
  await mongoose.disconnect();
  rmSync(spool, { recursive: true, force: true });
}
