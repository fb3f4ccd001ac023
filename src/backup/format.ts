/** The archive's format (described in src/backup/archive.ts) and what reading and writing share. */
import mongoose from "mongoose";
import type { IndexSpec } from "./known.js";

export type Db = NonNullable<typeof mongoose.connection.db>;
export type Document = Record<string, unknown>;
export const { EJSON } = mongoose.mongo.BSON;

export const FORMAT = "duet-backup";
export const VERSION = 2;

export type CollectionSummary = { name: string; count: number; indexes: IndexSpec[] };
export type ArchiveSummary = {
  database: string;
  createdAt: string;
  collections: CollectionSummary[];
  documents: number;
  /** What the database held that is not Duet's, left out of the backup. */
  skipped: string[];
};

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArchiveError";
  }
}
