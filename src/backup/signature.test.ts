import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { DEV_SESSION_SECRET } from "../config.js";
import { LineTooLong, splitLines } from "./lines.js";
import { backupKeys, signer, verifier } from "./signature.js";

const [newer, older, other] = ["n", "o", "x"].map((c) => c.repeat(64)) as [string, string, string];
const signatureOf = (key: Buffer, text: string) => {
  const mac = signer(key);
  mac.update(text);
  return (JSON.parse(mac.signatureLine()) as { signature: string }).signature;
};

describe("backup signatures", () => {
  it("an archive signed before the session secret was rotated still verifies while the old secret is listed", () => {
    const before = backupKeys({ backupSigningKey: undefined, sessionSecrets: [older] });
    const after = backupKeys({ backupSigningKey: undefined, sessionSecrets: [newer, older] });
    const check = verifier(after.verifying);
    check.update(Buffer.from("body\n"));
    assert.equal(check.matches(signatureOf(before.signing, "body\n")), true);
  });

  it("BACKUP_SIGNING_KEY signs instead of the session secret, and both verify", () => {
    const keys = backupKeys({ backupSigningKey: other, sessionSecrets: [newer] });
    const own = backupKeys({ backupSigningKey: undefined, sessionSecrets: [newer] });
    assert.ok(keys.signing.equals(backupKeys({ backupSigningKey: undefined, sessionSecrets: [other] }).signing));
    for (const key of [keys.signing, own.signing]) {
      const check = verifier(keys.verifying);
      check.update(Buffer.from("body\n"));
      assert.equal(check.matches(signatureOf(key, "body\n")), true);
    }
  });

  it("a changed body, a cut signature or another key does not verify", () => {
    const { signing, verifying } = backupKeys({ backupSigningKey: undefined, sessionSecrets: [newer] });
    const good = signatureOf(signing, "body\n");
    const cases = [
      ["body!\n", good],
      ["body\n", good.slice(0, -2)],
      ["body\n", `${good}AA`],
      ["body\n", signatureOf(backupKeys({ backupSigningKey: undefined, sessionSecrets: [other] }).signing, "body\n")],
      ["body\n", ""],
    ] as const;
    for (const [body, signature] of cases) {
      const check = verifier(verifying);
      check.update(Buffer.from(body));
      assert.equal(check.matches(signature), false, `${body.trim()} / ${signature}`);
    }
  });

  it("signing with the public development secret is flagged", () => {
    assert.equal(backupKeys({ backupSigningKey: undefined, sessionSecrets: [DEV_SESSION_SECRET] }).insecure, true);
    assert.equal(backupKeys({ backupSigningKey: other, sessionSecrets: [DEV_SESSION_SECRET] }).insecure, false);
  });
});

describe("reading an archive's lines", () => {
  it("lines come back byte for byte, however the chunks fall", async () => {
    const lines: string[] = [];
    for await (const line of splitLines(Readable.from([Buffer.from("a\r\nb"), Buffer.from("c\n\nd")])))
      lines.push(line.toString());
    assert.deepEqual(lines, ["a\r", "bc", "", "d"]);
  });

  it("a line longer than the limit is refused before it fills the memory", async () => {
    const endless = Readable.from([Buffer.alloc(60, 120), Buffer.alloc(60, 120)]);
    await assert.rejects(async () => {
      for await (const _ of splitLines(endless, 100)) assert.fail("no line expected");
    }, LineTooLong);
  });
});
