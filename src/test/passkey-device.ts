/**
 * A passkey device for integration tests: makes a P-256 key pair per passkey and answers the
 * app's options exactly as a browser would pass on a platform authenticator's answer (packed
 * in the JSON @simplewebauthn/browser sends), signing with the private key it keeps. Nothing of
 * the server is mocked: the answers are checked by the real routes.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { isoCBOR } from "@simplewebauthn/server/helpers";
import { stack } from "./stack.js";

type Options = { challenge: string; rp?: { id: string }; rpId?: string; user?: { id: string } };

export type StoredPasskey = { id: string; privateKey: KeyObject; userHandle: string; counter: number };

const b64 = (bytes: Uint8Array | Buffer) => Buffer.from(bytes).toString("base64url");

export type PasskeyDevice = {
  /** The passkeys it holds, newest last. */
  readonly passkeys: StoredPasskey[];
  /** Answers registration options (`{ options }` as the app sends them) with a new passkey. */
  register(options: Options, flags?: { userVerified?: boolean }): Record<string, unknown>;
  /** Answers authentication options with `passkey` (default: the newest), as that passkey signs. */
  authenticate(
    options: Options,
    choose?: { passkey?: StoredPasskey; counter?: number; userVerified?: boolean; origin?: string },
  ): Record<string, unknown>;
};

export function passkeyDevice(origin = stack.APP_URL): PasskeyDevice {
  const passkeys: StoredPasskey[] = [];
  const rpIdHash = (rpId: string) => createHash("sha256").update(rpId).digest();
  const clientData = (type: string, challenge: string, from: string) =>
    Buffer.from(JSON.stringify({ type, challenge, origin: from, crossOrigin: false }));
  // UP (user present), UV (user verified) as asked, AT (attested credential data) when registering.
  const flagsByte = (uv: boolean, attested: boolean) => 0x01 | (uv ? 0x04 : 0) | (attested ? 0x40 : 0);

  return {
    passkeys,
    register(options, flags = {}) {
      const rpId = options.rp?.id ?? new URL(origin).hostname;
      const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const jwk = publicKey.export({ format: "jwk" });
      const cose = new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, new Uint8Array(Buffer.from(jwk.x ?? "", "base64url"))],
        [-3, new Uint8Array(Buffer.from(jwk.y ?? "", "base64url"))],
      ]);
      const credentialId = randomBytes(16);
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(credentialId.length);
      const authData = Buffer.concat([
        rpIdHash(rpId),
        Buffer.from([flagsByte(flags.userVerified ?? true, true)]),
        Buffer.alloc(4),
        Buffer.alloc(16),
        idLength,
        credentialId,
        Buffer.from(isoCBOR.encode(cose)),
      ]);
      const attestation = new Map<string, string | Map<string, string> | Uint8Array>();
      attestation.set("fmt", "none");
      attestation.set("attStmt", new Map<string, string>());
      attestation.set("authData", new Uint8Array(authData));
      const attestationObject = isoCBOR.encode(attestation);
      const id = b64(credentialId);
      passkeys.push({ id, privateKey, userHandle: options.user?.id ?? "", counter: 0 });
      return {
        id,
        rawId: id,
        type: "public-key",
        response: {
          clientDataJSON: b64(clientData("webauthn.create", options.challenge, origin)),
          attestationObject: b64(attestationObject),
          transports: ["internal"],
        },
        clientExtensionResults: {},
        authenticatorAttachment: "platform",
      };
    },
    authenticate(options, choose = {}) {
      const passkey = choose.passkey ?? passkeys.at(-1);
      if (!passkey) throw new Error("the device holds no passkey");
      passkey.counter = choose.counter ?? passkey.counter + 1;
      const counter = Buffer.alloc(4);
      counter.writeUInt32BE(passkey.counter);
      const rpId = options.rpId ?? new URL(origin).hostname;
      const authData = Buffer.concat([rpIdHash(rpId), Buffer.from([flagsByte(choose.userVerified ?? true, false)]), counter]);
      const clientDataJSON = clientData("webauthn.get", options.challenge, choose.origin ?? origin);
      const signature = sign(
        "sha256",
        Buffer.concat([authData, createHash("sha256").update(clientDataJSON).digest()]),
        passkey.privateKey,
      );
      return {
        id: passkey.id,
        rawId: passkey.id,
        type: "public-key",
        response: {
          clientDataJSON: b64(clientDataJSON),
          authenticatorData: b64(authData),
          signature: b64(signature),
          userHandle: passkey.userHandle,
        },
        clientExtensionResults: {},
        authenticatorAttachment: "platform",
      };
    },
  };
}
