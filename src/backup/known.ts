/**
 * What a backup may hold: Duet's own collections, and on each only the indexes Duet's models
 * define, read from the mongoose schemas themselves so the list cannot drift from the code
 * (src/backup/known.test.ts checks that every model the app registers is here).
 *
 * A restore takes nothing else, even from a correctly signed archive: a planted collection
 * (`system.js`, a copy of `users` under another name) or index option (a TTL that deletes every
 * account, a unique index that blocks sign-ups) would survive in the database unnoticed.
 */
import type mongoose from "mongoose";
import { AvatarModel } from "../accounts/avatars.js";
import { KnownDeviceModel } from "../accounts/devices.js";
import { PushSubscriptionModel } from "../accounts/push-subscriptions.js";
import { EmailCodeModel } from "../accounts/email-codes.js";
import { PasskeyModel } from "../accounts/passkeys.js";
import { PendingSignUpModel } from "../accounts/pending-signups.js";
import { ResetTokenModel } from "../accounts/reset-tokens.js";
import { TwoFactorModel } from "../accounts/two-factor.js";
import { UserModel } from "../accounts/user.model.js";
import { AttachmentChunkModel, AttachmentModel } from "../chat/attachments/model.js";
import { MessageModel } from "../chat/message.model.js";
import { RoomModel } from "../chat/room.model.js";

/** The index options Duet's models use and both MongoDB 7 and FerretDB accept. */
export const INDEX_OPTIONS = ["unique", "sparse", "expireAfterSeconds", "partialFilterExpression"] as const;
type IndexOption = (typeof INDEX_OPTIONS)[number];

export type IndexKey = Record<string, mongoose.mongo.IndexDirection>;
export type IndexSpec = { name: string; key: IndexKey } & Pick<mongoose.mongo.CreateIndexesOptions, IndexOption>;
/** An index as Duet defines it: the key and the options to create it with. */
export type DuetIndex = { key: IndexKey; options: Pick<mongoose.mongo.CreateIndexesOptions, IndexOption> };

export const DUET_MODELS = [
  UserModel,
  RoomModel,
  MessageModel,
  EmailCodeModel,
  AvatarModel,
  ResetTokenModel,
  PendingSignUpModel,
  // Two-factor secrets are sealed (sealed-secrets.ts): a backup holds them as unreadable as the database does.
  TwoFactorModel,
  KnownDeviceModel,
  // Passkeys hold public keys only: a backup restores them working.
  PasskeyModel,
  // Sealed like two-factor secrets: a backup holds each browser's push endpoint unreadable.
  PushSubscriptionModel,
  AttachmentModel,
  AttachmentChunkModel,
] as const;

function modelIndexes(model: (typeof DUET_MODELS)[number]): DuetIndex[] {
  return model.schema.indexes().map(([key, all]) => {
    const options: DuetIndex["options"] = {};
    for (const option of INDEX_OPTIONS) if (all[option] !== undefined) Object.assign(options, { [option]: all[option] });
    return { key: key as IndexKey, options };
  });
}

/** Collection name → the indexes Duet defines on it (besides `_id`). */
export const DUET_COLLECTIONS: ReadonlyMap<string, readonly DuetIndex[]> = new Map(
  DUET_MODELS.map((model) => [model.collection.collectionName, modelIndexes(model)]),
);

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The index Duet defines that `spec` describes, or a reason it is not one: the same key (fields,
 * order and directions) and no option Duet does not set. An option Duet sets may be missing
 * (FerretDB does not report `sparse`); the restore creates the index with Duet's own options.
 */
export function duetIndexFor(collection: string, spec: unknown): DuetIndex | string {
  const indexes = DUET_COLLECTIONS.get(collection);
  if (!indexes) return `${collection} is not a collection Duet writes`;
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) return `a malformed index on ${collection}`;
  const { name, key, ...options } = spec as Record<string, unknown>;
  const label = `index ${typeof name === "string" ? name : JSON.stringify(key)} on ${collection}`;
  if (typeof key !== "object" || key === null) return `${label} has no key`;
  const match = indexes.find((index) => sameValue(index.key, key));
  const extra = Object.entries(options).filter(
    ([option, value]) => !match || !sameValue((match.options as Record<string, unknown>)[option], value),
  );
  if (!match || extra.length > 0)
    return `${label} (${JSON.stringify({ key, ...options })}) is not one Duet defines (${JSON.stringify(indexes.map((i) => ({ key: i.key, ...i.options })))})`;
  return match;
}

/** `spec` as the archive stores it: its name, key and the options Duet uses. */
export function archivedIndex(index: Record<string, unknown>): IndexSpec {
  const spec: IndexSpec = { name: String(index.name), key: index.key as IndexKey };
  for (const option of INDEX_OPTIONS) if (index[option] !== undefined) Object.assign(spec, { [option]: index[option] });
  return spec;
}
