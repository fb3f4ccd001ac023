/**
 * Issue 6: testssl.sh against the running stack's https port finds only TLS 1.2 and 1.3,
 * no weak cipher category, and ECDHE key exchange with AEAD ciphers only (Mozilla
 * "intermediate"). The check set is bounded (protocols, cipher categories, forward secrecy,
 * ciphers per protocol; `--fast`) so it takes about 15 s on 2 cores.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readStackEnv } from "../scripts/lib/stack-env.js";

type Finding = { id: string; severity: string; finding: string };

const run = promisify(execFile);
const stack = readStackEnv();

describe("TLS as testssl.sh sees it", () => {
  const dir = mkdtempSync(join(tmpdir(), "duet-testssl-"));
  const findings = new Map<string, Finding>();
  const finding = (id: string) => findings.get(id)?.finding;

  before(async () => {
    const json = join(dir, "testssl.json");
    const target = new URL(stack.APP_URL).host;
    await run(
      "testssl",
      [
        "--fast",
        "--quiet",
        "--color",
        "0",
        "--warnings",
        "off",
        "--ip",
        "127.0.0.1",
        "-p",
        "-s",
        "-f",
        "-E",
        "--jsonfile",
        json,
        target,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    ).catch((err: { code?: number }) => {
      // testssl exits non-zero when it has findings to report; the JSON says what they are.
      if (typeof err.code !== "number") throw err;
    });
    for (const f of JSON.parse(readFileSync(json, "utf8")) as Finding[]) findings.set(f.id, f);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test("only TLS 1.2 and TLS 1.3 are offered", () => {
    for (const old of ["SSLv2", "SSLv3", "TLS1", "TLS1_1"]) assert.equal(finding(old), "not offered", old);
    assert.equal(finding("TLS1_2"), "offered");
    assert.match(finding("TLS1_3") ?? "", /^offered/);
  });

  test("no weak cipher category is offered", () => {
    for (const weak of ["NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE"]) {
      assert.equal(finding(`cipherlist_${weak}`), "not offered", weak);
    }
    assert.equal(finding("PFS"), "offered");
  });

  test("every cipher offered is ECDHE with AES-GCM or ChaCha20-Poly1305", () => {
    const ciphers = [...findings.values()].filter((f) => f.id.startsWith("cipher-tls"));
    assert.ok(ciphers.length >= 3, "testssl listed no ciphers");
    for (const { finding: line } of ciphers) {
      assert.match(
        line,
        /(ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)|TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384))\s/,
        line,
      );
    }
  });

  test("no finding is rated medium, high or critical", () => {
    const serious = [...findings.values()].filter((f) => ["MEDIUM", "HIGH", "CRITICAL"].includes(f.severity));
    assert.deepEqual(serious, []);
  });
});
