import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { IdTokenError, idTokenVerifier, type VerifyIdToken } from "./id-token.js";

const ISSUER = "https://issuer.test";
const CLIENT_ID = "duet-client";
const NONCE = "n-0123456789abcdef";

describe("ID-token verification (tokens signed here, keys served from a local JWKS endpoint)", () => {
  let server: Server;
  let jwksUrl: string;
  let key: CryptoKey;
  let otherKey: CryptoKey;
  let verify: VerifyIdToken;

  before(async () => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    key = pair.privateKey;
    ({ privateKey: otherKey } = await generateKeyPair("RS256"));
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    server = createServer((_req, res) => res.setHeader("Content-Type", "application/json").end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    verify = idTokenVerifier({ issuer: ISSUER, clientId: CLIENT_ID, jwksUrl });
  });
  after(() => server.close());

  const claims = (extra: JWTPayload = {}): JWTPayload => ({
    iss: ISSUER,
    aud: CLIENT_ID,
    sub: "1234567890",
    nonce: NONCE,
    email: "ada@example.com",
    email_verified: true,
    name: "Ada Lovelace",
    picture: "https://lh3.googleusercontent.com/a/ada",
    ...extra,
  });
  const now = () => Math.floor(Date.now() / 1000);
  function sign(payload: JWTPayload, signingKey: CryptoKey = key, times = { iat: now(), exp: now() + 3600 }) {
    return new SignJWT({ ...payload, ...times }).setProtectedHeader({ alg: "RS256", kid: "k1" }).sign(signingKey);
  }
  async function refusal(token: string | Promise<string>, nonce = NONCE): Promise<IdTokenError> {
    const err = await verify(await token, nonce).then(
      () => assert.fail("the token was accepted"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof IdTokenError, String(err));
    return err;
  }

  it("a token signed by the provider, for us, for this sign-in, gives the identity", async () => {
    assert.deepEqual(await verify(await sign(claims()), NONCE), {
      sub: "1234567890",
      email: "ada@example.com",
      emailVerified: true,
      name: "Ada Lovelace",
      picture: "https://lh3.googleusercontent.com/a/ada",
    });
  });

  it("a token for another client is refused", async () => {
    assert.equal((await refusal(sign(claims({ aud: "another-app" })))).reason, "invalid");
  });

  it("with several audiences, azp must be us", async () => {
    assert.equal((await refusal(sign(claims({ aud: [CLIENT_ID, "other"], azp: "other" })))).reason, "invalid");
    assert.equal((await verify(await sign(claims({ aud: [CLIENT_ID, "other"], azp: CLIENT_ID })), NONCE)).sub, "1234567890");
  });

  it("an expired token is refused, and so is one issued long ago", async () => {
    assert.match((await refusal(sign(claims(), key, { iat: now() - 7200, exp: now() - 3600 }))).message, /exp/);
    assert.match((await refusal(sign(claims(), key, { iat: now() - 3600, exp: now() + 3600 }))).message, /iat/);
  });

  it("a token from another issuer is refused", async () => {
    assert.equal((await refusal(sign(claims({ iss: "https://evil.test" })))).reason, "invalid");
  });

  it("a nonce from another sign-in is refused, as is a token without one", async () => {
    assert.match((await refusal(sign(claims()), "n-someone-else")).message, /nonce/);
    assert.equal((await refusal(sign(claims({ nonce: undefined })))).reason, "invalid");
  });

  it("a token signed with another key under the same key id is refused", async () => {
    assert.match((await refusal(sign(claims(), otherKey))).message, /signature/);
  });

  it("an unsigned token (alg none) is refused", async () => {
    const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const unsigned = `${encode({ alg: "none" })}.${encode({ ...claims(), iat: now(), exp: now() + 3600 })}.`;
    assert.equal((await refusal(unsigned)).reason, "invalid");
  });

  it("only a JSON true verifies the email", async () => {
    assert.equal((await verify(await sign(claims({ email_verified: "true" })), NONCE)).emailVerified, false);
    assert.equal((await verify(await sign(claims({ email_verified: undefined })), NONCE)).emailVerified, false);
  });

  it("Google's issuer is accepted with or without the scheme", async () => {
    const google = idTokenVerifier({ issuer: "https://accounts.google.com", clientId: CLIENT_ID, jwksUrl });
    assert.ok(await google(await sign(claims({ iss: "accounts.google.com" })), NONCE));
    assert.ok(await google(await sign(claims({ iss: "https://accounts.google.com" })), NONCE));
  });

  it("keys that cannot be fetched are reported as the provider being unreachable, not as a bad token", async () => {
    const unreachable = idTokenVerifier({ issuer: ISSUER, clientId: CLIENT_ID, jwksUrl: "http://127.0.0.1:9/jwks" });
    const err = await unreachable(await sign(claims()), NONCE).catch((e: unknown) => e);
    assert.ok(err instanceof IdTokenError);
    assert.equal(err.reason, "unreachable");
  });
});
