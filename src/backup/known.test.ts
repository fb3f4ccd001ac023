import assert from "node:assert/strict";
import { describe, it } from "node:test";
import mongoose from "mongoose";
// Everything the server loads registers its models; a model missing from the backup's list
// would be left out of every backup without a word.
import "../app.js";
import "../chat/wiring.js";
import { DUET_COLLECTIONS, DUET_MODELS, duetIndexFor } from "./known.js";

describe("what a backup holds", () => {
  it("every model the app registers is backed up", () => {
    assert.deepEqual([...DUET_MODELS.map((m) => m.modelName)].sort(), [...mongoose.modelNames()].sort());
    assert.deepEqual([...DUET_COLLECTIONS.keys()].sort(), [
      "attachmentchunks",
      "attachments",
      "avatars",
      "emailcodes",
      "knowndevices",
      "messages",
      "passkeys",
      "pendingsignups",
      "pushsubscriptions",
      "resettokens",
      "rooms",
      "twofactors",
      "users",
    ]);
  });

  it("an index is Duet's only with Duet's key and no option Duet does not set", () => {
    assert.notEqual(typeof duetIndexFor("users", { name: "email_1", key: { email: 1 }, unique: true }), "string");
    // FerretDB does not report `sparse`: an index with fewer of Duet's options is still Duet's.
    assert.notEqual(typeof duetIndexFor("users", { name: "googleSub_1", key: { googleSub: 1 }, unique: true }), "string");
    assert.match(String(duetIndexFor("users", { name: "e", key: { email: -1 }, unique: true })), /not one Duet defines/);
    assert.match(String(duetIndexFor("users", { name: "e", key: { email: 1 }, unique: false })), /not one Duet defines/);
    assert.match(
      String(duetIndexFor("users", { name: "t", key: { email: 1 }, unique: true, expireAfterSeconds: 0 })),
      /not one Duet defines/,
    );
    assert.match(
      String(duetIndexFor("messages", { name: "s", key: { seq: 1, roomId: 1 }, unique: true })),
      /not one Duet defines/,
      "key order counts",
    );
    assert.match(String(duetIndexFor("sessions", { name: "x", key: { a: 1 } })), /sessions is not a collection Duet writes/);
    assert.match(String(duetIndexFor("users", "email_1")), /malformed index/);
  });
});
