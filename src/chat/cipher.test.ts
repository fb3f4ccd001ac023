import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { CipherError, generateDataKey, openMessage, parseMasterKeys, sealMessage, unwrapDataKey, wrapDataKey } from "./cipher.js";

const place = { roomId: "room-a", seq: 7, keyId: 1, senderId: "6b15a0000000000000000001" };
const master = { id: "k2026", key: randomBytes(32) };

describe("message encryption at rest", () => {
  it("a sealed message opens to the same text, emoji and all", () => {
    const key = generateDataKey();
    const text = "Meet at 9 🚲 — à bientôt <b>!</b>";
    const sealed = sealMessage(key, place, text);
    assert.equal(openMessage(key, place, sealed), text);
    assert.ok(!sealed.ct.toString("latin1").includes("Meet"), "the ciphertext does not carry the text");
  });

  it("a message stored by an earlier version still opens (the format is fixed)", () => {
    // Sealed by the first release's code; any change to the key derivation or the MAC input
    // would leave every stored message unreadable.
    const stored = {
      v: 1,
      keyId: 3,
      iv: Buffer.from("qK5I1S5PiHTa/FIoud7vLw==", "base64"),
      ct: Buffer.from("r2zmvBB41D+e8kS5aSScpWkDKyoQzFXistvRS0nI7RLTrHebeMAcy4rjBECXdCUV", "base64"),
      mac: Buffer.from("yVffVyndqoLvquNdMHY7LJykr+mRcLEEjSPdyGpcwo8=", "base64"),
    };
    const key = Buffer.alloc(32, 7);
    // Version 1 bound neither sender, kind nor edit time: whatever is asked, they do not matter.
    const old = { roomId: "room-Ünïcode-42", seq: 123456789, senderId: "anyone" };
    assert.equal(openMessage(key, old, stored), "Hello, Bob — see you at 5? 👋");
    assert.throws(() => openMessage(key, { ...old, seq: 123456788 }, stored), CipherError);
  });

  it("the same text sealed twice looks different (fresh IV)", () => {
    const key = generateDataKey();
    const a = sealMessage(key, place, "same");
    const b = sealMessage(key, place, "same");
    assert.notDeepEqual(a.iv, b.iv);
    assert.notDeepEqual(a.ct, b.ct);
  });

  it("a ciphertext moved to another room or another position does not open", () => {
    const key = generateDataKey();
    const sealed = sealMessage(key, place, "hello");
    assert.throws(() => openMessage(key, { ...place, roomId: "room-b" }, sealed), CipherError);
    assert.throws(() => openMessage(key, { ...place, seq: 8 }, sealed), CipherError);
    assert.throws(() => openMessage(key, place, { ...sealed, keyId: 2 }), CipherError);
  });

  it("a ciphertext given to another sender, another kind or another edit time does not open", () => {
    const key = generateDataKey();
    const sealed = sealMessage(key, place, "hello");
    assert.equal(sealed.v, 2);
    assert.throws(() => openMessage(key, { ...place, senderId: "6b15a0000000000000000002" }, sealed), /failed authentication/);
    assert.throws(() => openMessage(key, { ...place, kind: "attachment" }, sealed), /failed authentication/);
    assert.throws(() => openMessage(key, { ...place, editedAt: 1 }, sealed), /failed authentication/);
    const edited = sealMessage(key, { ...place, editedAt: 1_700_000_000_123 }, "hello again");
    assert.equal(openMessage(key, { ...place, editedAt: 1_700_000_000_123 }, edited), "hello again");
    assert.throws(() => openMessage(key, place, edited), /failed authentication/, "an edit time cannot be dropped");
  });

  it("any altered bit is refused before decryption", () => {
    const key = generateDataKey();
    const sealed = sealMessage(key, place, "a message long enough to span blocks of sixteen bytes");
    for (const field of ["iv", "ct", "mac"] as const) {
      const tampered = Buffer.from(sealed[field]);
      tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
      assert.throws(() => openMessage(key, place, { ...sealed, [field]: tampered }), /failed authentication/);
    }
    assert.throws(() => openMessage(key, place, { ...sealed, ct: sealed.ct.subarray(0, 16) }), /failed authentication/);
    assert.throws(() => openMessage(key, place, { ...sealed, ct: Buffer.alloc(0) }), /malformed/);
    assert.throws(() => openMessage(key, place, { ...sealed, v: 9 }), /version 9/);
  });

  it("a key id, number or edit time that a flipped bit put out of range is refused as damage, not thrown as a crash", () => {
    // Found by scripts/attack (damaged stored message): the sign bit of a stored int32 key id
    // made the MAC input throw a RangeError, which took the room's history (500) and sockets (1011) down.
    const key = generateDataKey();
    const sealed = sealMessage(key, place, "hello");
    for (const keyId of [1 ^ (1 << 31), 2 ** 32, 1.5]) {
      assert.throws(() => openMessage(key, place, { ...sealed, keyId }), CipherError, `key id ${keyId}`);
    }
    for (const seq of [7 ^ (1 << 31), 7.5, 2 ** 64]) {
      assert.throws(() => openMessage(key, { ...place, seq }, sealed), CipherError, `number ${seq}`);
    }
    for (const editedAt of [-1, Number.NaN, 2 ** 64]) {
      assert.throws(() => openMessage(key, { ...place, editedAt }, sealed), CipherError, `edit time ${editedAt}`);
    }
  });

  it("another room's key does not open it", () => {
    const sealed = sealMessage(generateDataKey(), place, "hello");
    assert.throws(() => openMessage(generateDataKey(), place, sealed), CipherError);
  });
});

describe("room keys wrapped by master keys", () => {
  it("a wrapped room key unwraps with its master key and room", () => {
    const dataKey = generateDataKey();
    const wrapped = wrapDataKey(master, "room-a", dataKey);
    assert.equal(wrapped.masterKeyId, "k2026");
    assert.deepEqual(unwrapDataKey([master], "room-a", wrapped), dataKey);
  });

  it("refuses another room, an unknown master key, a wrong master key and tampering", () => {
    const wrapped = wrapDataKey(master, "room-a", generateDataKey());
    assert.throws(() => unwrapDataKey([master], "room-b", wrapped), /does not unwrap/);
    assert.throws(() => unwrapDataKey([], "room-a", wrapped), /master key "k2026", which is not configured/);
    assert.throws(() => unwrapDataKey([{ id: "k2026", key: randomBytes(32) }], "room-a", wrapped), /does not unwrap/);
    const bad = Buffer.from(wrapped.wrapped);
    bad[0] = (bad[0] ?? 0) ^ 1;
    assert.throws(() => unwrapDataKey([master], "room-a", { ...wrapped, wrapped: bad }), /does not unwrap/);
  });

  it("rewrapping under a new master key keeps messages readable", () => {
    const dataKey = generateDataKey();
    const sealed = sealMessage(dataKey, place, "kept");
    const next = { id: "k2027", key: randomBytes(32) };
    const rewrapped = wrapDataKey(next, "room-a", unwrapDataKey([master], "room-a", wrapDataKey(master, "room-a", dataKey)));
    assert.equal(openMessage(unwrapDataKey([next, master], "room-a", rewrapped), place, sealed), "kept");
  });
});

describe("master keys from config", () => {
  it("parses id:base64 entries, newest first", () => {
    const a = randomBytes(32).toString("base64");
    const b = randomBytes(32).toString("base64");
    const keys = parseMasterKeys(`new:${a}, old:${b}`);
    assert.deepEqual(
      keys.map((k) => k.id),
      ["new", "old"],
    );
    assert.equal(keys[0]?.key.length, 32);
  });

  it("names what is wrong with a bad entry", () => {
    assert.throws(() => parseMasterKeys("nokey"), /entry 1 \(nokey\): the key must be 32 bytes/);
    assert.throws(() => parseMasterKeys(`k1:${randomBytes(16).toString("base64")}`), /openssl rand -base64 32/);
    assert.throws(() => parseMasterKeys(`bad id:${randomBytes(32).toString("base64")}`), /key id must be/);
    const k = randomBytes(32).toString("base64");
    assert.throws(() => parseMasterKeys(`same:${k},same:${k}`), /share an id/);
  });
});
