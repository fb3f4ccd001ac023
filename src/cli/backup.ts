/**
 * `node dist/cli/backup.js`: writes a signed backup of the app's database (MONGODB_URI) to
 * standard output; scripts/backup puts it in a file. Progress and problems go to standard error.
 * Signed with BACKUP_SIGNING_KEY if set, else the first of SESSION_SECRETS (src/backup/signature.ts).
 */
import mongoose from "mongoose";
import { writeArchive } from "../backup/archive.js";
import { backupKeys } from "../backup/signature.js";
import { readConfig, redact, scrub } from "../config.js";

const { config } = readConfig();
const keys = backupKeys(config);
if (keys.insecure)
  process.stderr.write(
    "warning: signed with the public development secret, so anyone could forge this archive: set SESSION_SECRETS or BACKUP_SIGNING_KEY\n",
  );
// The models are loaded only to read Duet's index definitions (src/backup/known.ts): they
// must not create collections or indexes in the database being backed up.
await mongoose
  .connect(config.mongodbUri, { serverSelectionTimeoutMS: 10_000, autoIndex: false, autoCreate: false })
  .catch((err: unknown) => {
    process.stderr.write(
      `cannot reach MongoDB at ${redact(config.mongodbUri)}: ${scrub(err instanceof Error ? err.message : String(err), [config.mongodbUri])}\n`,
    );
    process.exit(1);
  });
const db = mongoose.connection.db;
if (!db) throw new Error("connected without a database");
try {
  const summary = await writeArchive(db, process.stdout, keys.signing);
  process.stderr.write(
    `backed up ${summary.documents} documents in ${summary.collections.length} collections of "${summary.database}"\n`,
  );
  if (summary.skipped.length > 0) process.stderr.write(`left out, not Duet's: ${summary.skipped.join(", ")}\n`);
} catch (err) {
  process.stderr.write(`backup failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await mongoose.disconnect();
}
