import assert from "node:assert/strict";
import { describe, it } from "node:test";
import mongoose from "mongoose";
import { fetchAs, upload } from "../../test/attachments.js";
import { chatSuite, twoInARoom } from "../../test/chat-suite.js";
import { instances } from "../../test/factories.js";
import { attachmentUrl } from "../protocol.js";
import { sweepUnsentAttachments } from "./sweep.js";

const [instanceA = "", instanceB = ""] = instances;
const file = (text: string) => ({ name: `${text}.txt`, type: "text/plain", data: Buffer.from(text.repeat(5000)) });

describe("uploads that never became a message", () => {
  const suite = chatSuite();
  const db = () => {
    assert.ok(mongoose.connection.db, "connected");
    return mongoose.connection.db;
  };
  const records = () => db().collection("attachments");
  const chunksOf = async (uploadId: unknown) =>
    db()
      .collection("attachmentchunks")
      .countDocuments({ _id: { $regex: `^${String(uploadId)}:` } as never });

  it("are removed once old enough, with their chunks; sent files stay, and so do fresh uploads", async () => {
    const { alice, bob, roomId } = await twoInARoom("sweep", [instanceA, instanceB]);
    const tab = await suite.connect(alice.browser, roomId, instanceA);
    for (const id of ["sent", "abandoned", "crashed"])
      assert.equal((await upload(alice.browser, roomId, id, file(id))).status, 201);
    tab.send({ type: "attach", clientId: "sent", caption: "kept" });
    await tab.next("ack", (f) => f.clientId === "sent");
    tab.send({ type: "attach", clientId: "crashed", caption: "sent, its number never noted" });
    const crashedAck = await tab.next("ack", (f) => f.clientId === "crashed");
    // An instance that stopped between storing the message and noting its number on the file.
    await records().updateOne({ roomId, clientId: "crashed" }, { $unset: { seq: "" } });
    const abandoned = await records().findOne({ roomId, clientId: "abandoned" });
    assert.ok(abandoned && (await chunksOf(abandoned.uploadId)) > 0);

    // Nothing of this room is old enough yet: nothing of it changes. (Earlier tests' leftovers
    // in other rooms may be swept too: the counts are at least this room's.)
    await sweepUnsentAttachments(new Date(Date.now() - 60_000));
    assert.equal(await records().countDocuments({ roomId }), 3);
    assert.equal(await records().countDocuments({ roomId, seq: { $exists: true } }), 1);

    const swept = await sweepUnsentAttachments(new Date(Date.now() + 1000));
    assert.ok(swept.removed >= 1 && swept.repaired >= 1, JSON.stringify(swept));
    assert.equal(await records().countDocuments({ roomId, clientId: "abandoned" }), 0);
    assert.equal(await chunksOf(abandoned.uploadId), 0, "its chunks went with it");
    assert.equal((await records().findOne({ roomId, clientId: "crashed" }))?.seq, crashedAck.seq);

    const url = (clientId: string) => attachmentUrl(roomId, alice.id, clientId);
    for (const kept of ["sent", "crashed"]) {
      const res = await fetchAs(bob.browser, instanceB, url(kept));
      assert.equal(res.status, 200, `${kept} still downloads`);
      assert.equal(Buffer.from(await res.arrayBuffer()).toString(), kept.repeat(5000));
    }
    assert.equal((await fetchAs(alice.browser, instanceA, url("abandoned"))).status, 404);
    // The abandoned upload can no longer be sent; the sender is told to attach it again.
    tab.send({ type: "attach", clientId: "abandoned", caption: "too late" });
    assert.equal((await tab.next("error", (f) => f.clientId === "abandoned")).code, "not_found");
  });
});
