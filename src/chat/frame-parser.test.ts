import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseClientFrame } from "./frame-parser.js";
import { MAX_MESSAGE_LENGTH } from "./protocol.js";

describe("chat frames from clients", () => {
  it("accepts each well-formed frame", () => {
    for (const frame of [
      { type: "send", clientId: "c-1", text: "hi" },
      { type: "edit", seq: 3, text: "fixed" },
      { type: "delete", seq: 3 },
      { type: "typing" },
      { type: "read", seq: 10 },
    ]) {
      const result = parseClientFrame(JSON.stringify(frame));
      assert.ok(result.ok, JSON.stringify(result));
    }
  });

  it("says what is wrong with a malformed frame, never throwing", () => {
    const cases: Array<[string, RegExp]> = [
      ["not json", /frames must be JSON/],
      ["null", /invalid|expected/i],
      ['{"type":"launch"}', /type/],
      ['{"type":"send","clientId":"c","text":"   "}', /text: a message cannot be empty/],
      ['{"type":"send","clientId":"has space","text":"x"}', /clientId must be/],
      ['{"type":"send","clientId":"c","text":"x","extra":1}', /extra|unrecognized/i],
      ['{"type":"read","seq":-1}', /seq/],
      ['{"type":"read","seq":1.5}', /seq/],
      ['{"type":"send","clientId":"c","text":{"$gt":""}}', /text/],
    ];
    for (const [raw, message] of cases) {
      const result = parseClientFrame(raw);
      assert.equal(result.ok, false, raw);
      if (!result.ok) assert.match(result.message, message, raw);
    }
  });

  it("a message over 4,000 characters is too long, and the answer names the client id", () => {
    const result = parseClientFrame(JSON.stringify({ type: "send", clientId: "c-9", text: "x".repeat(MAX_MESSAGE_LENGTH + 1) }));
    assert.deepEqual(result.ok ? undefined : [result.code, result.clientId], ["too_long", "c-9"]);
    assert.ok(parseClientFrame(JSON.stringify({ type: "send", clientId: "c-9", text: "é".repeat(MAX_MESSAGE_LENGTH) })).ok);
  });

  it("a reply names an earlier message by number; a reaction is one of Duet's emoji, on or off", () => {
    for (const frame of [
      { type: "send", clientId: "c-2", text: "yes", replyTo: 7 },
      { type: "react", seq: 7, emoji: "👍", on: true },
      { type: "react", seq: 7, emoji: "❤️", on: false },
    ])
      assert.ok(parseClientFrame(JSON.stringify(frame)).ok, JSON.stringify(frame));
    const cases: Array<[unknown, RegExp]> = [
      [{ type: "send", clientId: "c", text: "x", replyTo: 0 }, /replyTo/],
      [{ type: "send", clientId: "c", text: "x", replyTo: "7" }, /replyTo/],
      [{ type: "react", seq: 7, emoji: "👍👍", on: true }, /emoji: not one of the reactions Duet offers/],
      [{ type: "react", seq: 7, emoji: "hello", on: true }, /emoji: not one of the reactions Duet offers/],
      [{ type: "react", seq: 7, emoji: "👍" }, /on/],
      [{ type: "react", seq: 7, emoji: "👍", on: true, text: "smuggled" }, /text|unrecognized/i],
    ];
    for (const [frame, message] of cases) {
      const result = parseClientFrame(JSON.stringify(frame));
      assert.equal(result.ok, false, JSON.stringify(frame));
      if (!result.ok) assert.match(result.message, message, JSON.stringify(frame));
    }
  });
});
