/**
 * `node dist/cli/backup.js`: writes a backup of the app's database (MONGODB_URI) to standard
 * output; scripts/backup puts it in a file. Progress and problems go to standard error.
 */
import mongoose from "mongoose";
import { writeArchive } from "../backup/archive.js";
import { readConfig, redact, scrub } from "../config.js";

const { config } = readConfig();
await mongoose.connect(config.mongodbUri, { serverSelectionTimeoutMS: 10_000 }).catch((err: unknown) => {
  process.stderr.write(
    `cannot reach MongoDB at ${redact(config.mongodbUri)}: ${scrub(err instanceof Error ? err.message : String(err), [config.mongodbUri])}\n`,
  );
  process.exit(1);
});
const db = mongoose.connection.db;
if (!db) throw new Error("connected without a database");
try {
  const summary = await writeArchive(db, process.stdout);
  process.stderr.write(
    `backed up ${summary.documents} documents in ${summary.collections.length} collections of "${summary.database}"\n`,
  );
} catch (err) {
  process.stderr.write(`backup failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await mongoose.disconnect();
}
