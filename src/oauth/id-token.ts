/**
 * ID-token verification: the one place that decides whether a token really comes from the
 * provider, for us, for this sign-in. grant only decodes the token (it checks neither the
 * signature nor the expiry), so nothing about the user is trusted before this has run.
 */
import { timingSafeEqual } from "node:crypto";
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { GoogleConfig } from "../config.js";

/** What Duet takes from a verified ID token. */
export type IdentityClaims = {
  sub: string;
  email: string;
  emailVerified: boolean;
  name: string;
  picture: string | undefined;
};

/** `invalid`: the token must not be believed. `unreachable`: the provider's keys could not be fetched. */
export class IdTokenError extends Error {
  constructor(
    readonly reason: "invalid" | "unreachable",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "IdTokenError";
  }
}

export type VerifyIdToken = (idToken: string, expectedNonce: string) => Promise<IdentityClaims>;

/** Google writes `iss` either with or without the scheme; other providers write exactly their issuer. */
function acceptedIssuers(issuer: string): string[] {
  return issuer === "https://accounts.google.com" ? [issuer, "accounts.google.com"] : [issuer];
}

const sameString = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * A verifier for `google`'s ID tokens: signature against the provider's published keys (cached,
 * refetched when an unknown key id appears), `iss`, `aud` = our client id (and `azp` when there
 * are several audiences), `exp` and `iat`, and the `nonce` this browser's sign-in started with.
 */
export function idTokenVerifier(
  google: Pick<GoogleConfig, "issuer" | "clientId" | "jwksUrl">,
  keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(google.jwksUrl), { timeoutDuration: 5000 }),
): VerifyIdToken {
  return async (idToken, expectedNonce) => {
    let payload;
    try {
      ({ payload } = await jwtVerify(idToken, keys, {
        issuer: acceptedIssuers(google.issuer),
        audience: google.clientId,
        algorithms: ["RS256", "ES256", "PS256", "EdDSA"],
        requiredClaims: ["sub", "iat", "exp", "nonce"],
        // The token was just issued for this exchange; an old one is a replay.
        maxTokenAge: "10 minutes",
        clockTolerance: 60,
      }));
    } catch (err) {
      if (err instanceof errors.JOSEError && !(err instanceof errors.JWKSTimeout)) {
        throw new IdTokenError("invalid", `ID token refused: ${err.code}: ${err.message}`, { cause: err });
      }
      throw new IdTokenError("unreachable", "the provider's signing keys could not be fetched", { cause: err });
    }
    if (typeof payload.nonce !== "string" || !expectedNonce || !sameString(payload.nonce, expectedNonce)) {
      throw new IdTokenError("invalid", "ID token refused: nonce mismatch");
    }
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== google.clientId) {
      throw new IdTokenError("invalid", "ID token refused: azp is not our client");
    }
    const { sub, email, email_verified: verified, name, picture } = payload;
    if (typeof sub !== "string" || sub.length === 0 || sub.length > 255) throw new IdTokenError("invalid", "no usable sub");
    if (typeof email !== "string" || email.length > 254 || !email.includes("@")) {
      throw new IdTokenError("invalid", "no usable email");
    }
    return {
      sub,
      email,
      // Only a JSON `true` counts; some providers send the string "true", which we do not guess at.
      emailVerified: verified === true,
      name: typeof name === "string" ? name : "",
      picture: typeof picture === "string" ? picture : undefined,
    };
  };
}
