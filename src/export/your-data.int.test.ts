/**
 * "Download your data" against the real stack: the ZIP holds the profile, the signed-in
 * browsers and every conversation decrypted (edits and deletions as the members see them), and
 * nothing of anyone else's conversations; it needs a signed-in session and a CSRF token, and is
 * limited per user.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { fromBuffer, type Entry, type ZipFile } from "yauzl";
import { UserModel } from "../accounts/user.model.js";
import { openChat, type ChatClient } from "../test/chat-client.js";
import { instances, signedUpUser, startConversation } from "../test/factories.js";
import { openBrowser, type TestBrowser } from "../test/browser.js";
import { chatSuite } from "../test/chat-suite.js";

const [instanceA = "", instanceB = ""] = instances;

/** Every file in the ZIP, name → bytes. */
async function unzipBytes(bytes: Buffer): Promise<Map<string, Buffer>> {
  const zip = await new Promise<ZipFile>((resolve, reject) =>
    fromBuffer(bytes, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z))),
  );
  const files = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on("entry", (entry: Entry) => {
      zip.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          files.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
    });
    zip.on("end", resolve);
    zip.on("error", reject);
    zip.readEntry();
  });
  return files;
}

/** Every file in the ZIP, name → text. */
async function unzip(bytes: Buffer): Promise<Map<string, string>> {
  return new Map([...(await unzipBytes(bytes))].map(([name, data]) => [name, data.toString("utf8")]));
}

describe("downloading your data", () => {
  const suite = chatSuite();
  const open = suite.open;

  it("holds the profile, the sessions and every conversation decrypted, and nobody else's", async () => {
    const alice = await signedUpUser("export-a", instanceA);
    const bob = await signedUpUser("export-b", instanceB);
    const carol = await signedUpUser("export-c", instanceB);
    // A name that is no file name: it must not become a path in the ZIP.
    await UserModel.updateOne({ email: carol.email }, { $set: { displayName: "../Carol/..\\x" } });
    const withBob = await startConversation(alice.browser, bob.email);
    const withCarol = await startConversation(alice.browser, carol.email);
    const outsider = await startConversation(bob.browser, carol.email);

    const talk = async (browser: typeof alice.browser, roomId: string, base: string) => {
      const chat = await openChat(browser, roomId, { base });
      open.push(chat);
      await chat.next("ready");
      return chat;
    };
    const a = await talk(alice.browser, withBob, instanceA);
    const b = await talk(bob.browser, withBob, instanceB);
    a.send({ type: "send", clientId: "x1", text: "first, then edited" });
    const first = await a.next("ack", (f) => f.clientId === "x1");
    b.send({ type: "send", clientId: "x2", text: "Bob's reply: ünïcødé ✓\nsecond line" });
    await b.next("ack", (f) => f.clientId === "x2");
    a.send({ type: "send", clientId: "x3", text: "this one is deleted" });
    const third = await a.next("ack", (f) => f.clientId === "x3");
    a.send({ type: "edit", seq: first.seq, text: "first, edited" });
    a.send({ type: "delete", seq: third.seq });
    await b.next("deleted", (f) => f.seq === third.seq);
    await b.next("edited", (f) => f.seq === first.seq);
    const c = await talk(carol.browser, withCarol, instanceB);
    c.send({ type: "send", clientId: "y1", text: "hello from carol" });
    await c.next("ack");
    const o = await talk(bob.browser, outsider, instanceB);
    o.send({ type: "send", clientId: "z1", text: "between bob and carol only" });
    await o.next("ack");

    const page = await alice.browser.get("/profile/export");
    assert.equal(page.status, 200);
    assert.match(page.text, /Download your data/);
    const unconfirmed = await alice.browser.post("/profile/export", {});
    assert.equal(unconfirmed.status, 422, "re-authentication first");
    assert.match(unconfirmed.text, /Enter your current password/);
    const download = await alice.browser.post("/profile/export", { currentPassword: alice.password });
    assert.equal(download.status, 200);
    assert.equal(download.headers.get("content-type"), "application/zip");
    assert.match(
      download.headers.get("content-disposition") ?? "",
      /^attachment; filename="duet-export-\d{4}-\d{2}-\d{2}\.zip"$/,
    );
    assert.equal(download.headers.get("cache-control"), "no-store");

    const files = await unzip(download.body);
    assert.deepEqual([...files.keys()].filter((f) => !f.startsWith("conversations/")).sort(), [
      "README.txt",
      "profile.json",
      "sessions.json",
    ]);
    const profile = JSON.parse(files.get("profile.json") ?? "{}") as Record<string, unknown>;
    assert.equal(profile.email, alice.email);
    assert.equal(profile.displayName, "export-a tester");
    assert.ok(!JSON.stringify(profile).includes("argon2"), "no password hash");
    const sessions = JSON.parse(files.get("sessions.json") ?? "[]") as unknown[];
    assert.ok(sessions.length >= 1);

    const conversations = [...files].filter(([name]) => name.startsWith("conversations/"));
    assert.equal(conversations.length, 2, "alice's two conversations, not bob and carol's");
    for (const [name] of conversations) assert.match(name, /^conversations\/\d{3}-[\p{L}\p{N} ._-]+\.json$/u, "a safe file name");
    type Conversation = { conversationWith: { displayName: string }; messages: Array<Record<string, unknown>> };
    const parsed = conversations.map(([, text]) => JSON.parse(text) as Conversation);
    const bobs = parsed.find((p) => p.conversationWith.displayName === "export-b tester");
    assert.deepEqual(
      bobs?.messages.map(({ from, text, deleted, editedAt }) => ({ from, text, deleted, edited: editedAt !== undefined })),
      [
        { from: "me", text: "first, edited", deleted: undefined, edited: true },
        { from: "export-b tester", text: "Bob's reply: ünïcødé ✓\nsecond line", deleted: undefined, edited: false },
        { from: "me", text: undefined, deleted: true, edited: false },
      ],
    );
    const carols = parsed.find((p) => p.conversationWith.displayName === "../Carol/..\\x");
    assert.deepEqual(
      carols?.messages.map((m) => m.text),
      ["hello from carol"],
    );
    assert.ok(![...files.values()].some((text) => text.includes("between bob and carol only")));
  });

  it("holds each conversation's files, decrypted byte for byte, under safe names", async () => {
    const alice = await signedUpUser("export-files-a", instanceA);
    const bob = await signedUpUser("export-files-b", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const a = await openChat(alice.browser, roomId, { base: instanceA });
    const b = await openChat(bob.browser, roomId, { base: instanceB });
    open.push(a, b);
    await Promise.all([a.next("ready"), b.next("ready")]);
    // More than one stored document of sealed chunks (1 MiB each), and a name that is a path.
    const big = randomBytes(1_300_000);
    const note = Buffer.from("Bob's notes ✓\n");
    const sendFile = async (
      chat: ChatClient,
      browser: TestBrowser,
      clientId: string,
      file: { name: string; type: string; data: Buffer },
    ) => {
      const up = await browser.upload(`/api/rooms/${roomId}/attachments?clientId=${clientId}`, {}, { field: "file", ...file });
      assert.equal(up.status, 201, up.text);
      chat.send({ type: "attach", clientId, caption: "" });
      return (await chat.next("ack", (f) => f.clientId === clientId)).seq;
    };
    const bigSeq = await sendFile(a, alice.browser, "big", {
      name: "../../etc/.pass wd;<x>.bin",
      type: "application/octet-stream",
      data: big,
    });
    await sendFile(b, bob.browser, "note", { name: "notes.txt", type: "text/plain", data: note });

    await alice.browser.get("/profile/export");
    const download = await alice.browser.post("/profile/export", { currentPassword: alice.password });
    assert.equal(download.status, 200);
    const files = await unzipBytes(download.body);
    const attachments = [...files.keys()].filter((name) => name.includes("-files/"));
    assert.equal(attachments.length, 2, attachments.join(", "));
    for (const name of attachments) {
      assert.match(
        name,
        /^conversations\/\d{3}-[\p{L}\p{N} ._-]+-files\/\d{6}-[^/\\]+$/u,
        "one folder deep, no path in the name",
      );
      assert.ok(!name.split("/").some((part) => part === ".." || part.startsWith(".")), name);
    }
    const conversation = JSON.parse(
      [...files].find(([name]) => name.endsWith(".json") && name.startsWith("conversations/"))?.[1].toString("utf8") ?? "{}",
    ) as { messages: Array<{ seq: number; attachment?: { name: string; size: number; file: string } }> };
    const bigMessage = conversation.messages.find((m) => m.seq === bigSeq);
    // The upload already drops the path; the entry also loses the leading dot and the marks.
    assert.equal(bigMessage?.attachment?.name, ".pass wd;<x>.bin");
    assert.equal(bigMessage.attachment.size, big.length);
    assert.match(bigMessage.attachment.file, /-files\/\d{6}-pass wd_x_\.bin$/);
    assert.ok(files.get(bigMessage.attachment.file)?.equals(big), "the file comes back identical");
    const noteFile = conversation.messages.find((m) => m.attachment?.name === "notes.txt")?.attachment?.file ?? "";
    assert.ok(files.get(noteFile)?.equals(note), "the other member's file too");
  });

  it("needs a signed-in session and the form's token, and a few an hour is the limit", async () => {
    const stranger = openBrowser(instanceA);
    assert.equal((await stranger.get("/profile/export")).location?.startsWith("/signin"), true);
    const dave = await signedUpUser("export-d", instanceA);
    assert.equal((await dave.browser.post("/profile/export", { _csrf: "forged" })).status, 403);
    // The first one proves the password; the next ones, within ten minutes, need not.
    for (let i = 0; i < 5; i++) {
      const form: Record<string, string> = i === 0 ? { currentPassword: dave.password } : {};
      assert.equal((await dave.browser.post("/profile/export", form)).status, 200);
    }
    const sixth = await dave.browser.post("/profile/export", {});
    assert.equal(sixth.status, 429);
    assert.match(sixth.text, /Too many attempts\. Try again in/);
  });
});
