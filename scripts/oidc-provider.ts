/**
 * A real OpenID Connect provider (panva's oidc-provider) standing in for Google in the native
 * stack, so "Continue with Google" is tested end to end without the internet: the browser is
 * sent here, signs in on the page below, and comes back with a code the app exchanges.
 *
 * Anyone may sign in with any email (it is a test provider); the `sub` is derived from the
 * email unless one is given, so signing in again as the same person gives the same account.
 * The page's "test options" make the provider misbehave on purpose: an unverified email, an
 * ID token for another audience, or one that has already expired.
 *
 * Configured by the stack (scripts/lib/stack.ts) through OIDC_* variables.
 */
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import { dirname } from "node:path";
import type { ParameterizedContext } from "koa";
import Provider, { type Configuration, type JWK } from "oidc-provider";
import sharp from "sharp";
import { interactionPage, QUIRKS, type Quirk } from "./oidc-provider-pages.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`oidc-provider: ${name} is not set`);
  return value;
}

const issuer = required("OIDC_ISSUER");
const port = Number(required("OIDC_PORT"));
const keyFile = required("OIDC_KEY_FILE");

type Account = { email: string; emailVerified: boolean; name: string; quirk: Quirk };
/** Who signed in, by `sub`: in memory, like the provider's codes and sessions. */
const accounts = new Map<string, Account>();

/** The signing key survives restarts (the "provider down" test), as Google's keys outlive an outage. */
function signingKey(): JWK {
  if (!existsSync(keyFile)) {
    mkdirSync(dirname(keyFile), { recursive: true });
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = { ...privateKey.export({ format: "jwk" }), kid: randomBytes(8).toString("hex"), alg: "RS256", use: "sig" };
    writeFileSync(keyFile, JSON.stringify(jwk), { mode: 0o600 });
  }
  return JSON.parse(readFileSync(keyFile, "utf8")) as JWK;
}

const configuration: Configuration = {
  clients: [
    {
      client_id: required("OIDC_CLIENT_ID"),
      client_secret: required("OIDC_CLIENT_SECRET"),
      redirect_uris: [required("OIDC_REDIRECT_URI")],
      response_types: ["code"],
      grant_types: ["authorization_code"],
      // What Google accepts and grant sends: the secret in the token request's form body.
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  jwks: { keys: [signingKey()] },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "given_name", "family_name", "picture"],
  },
  // Google puts the profile claims in the ID token itself; so does this provider.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    const [given = account.name, ...rest] = account.name.split(" ");
    return {
      accountId: sub,
      claims: () => ({
        sub,
        email: account.email,
        email_verified: account.emailVerified,
        name: account.name,
        given_name: given,
        family_name: rest.join(" "),
        picture: `${issuer}/pictures/${sub}.png`,
      }),
    };
  },
};

const provider = new Provider(issuer, configuration);

// The misbehaving ID tokens the test options ask for, issued with the provider's real key.
const issue = provider.IdToken.prototype.issue;
provider.IdToken.prototype.issue = async function (this: InstanceType<typeof provider.IdToken>, options) {
  const quirk = accounts.get(String(this.available.sub))?.quirk;
  if (options.use === "idtoken" && quirk === "wrong-audience") {
    Object.defineProperty(this, "client", { value: Object.create(this.client, { clientId: { value: "another-app" } }) });
  }
  if (options.use === "idtoken" && quirk === "expired") {
    const now = Math.floor(Date.now() / 1000);
    this.set("iat", now - 7200);
    return issue.call(this, { ...options, expiresAt: now - 3600 });
  }
  return issue.call(this, options);
};

type Ctx = ParameterizedContext;

async function formOf(ctx: Ctx): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16_384) ctx.throw(413);
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

const subFor = (email: string) => createHash("sha256").update(email).digest("hex").slice(0, 21);

provider.use(async (ctx, next) => {
  const interaction = /^\/interaction\/([\w-]+)$/.exec(ctx.path);
  const picture = /^\/pictures\/([\w-]+)\.png$/.exec(ctx.path);
  if (interaction && ctx.method === "GET") {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = "html";
    ctx.set("Cache-Control", "no-store");
    ctx.body = interactionPage(details.uid, String(details.params.client_id ?? ""));
    return;
  }
  if (interaction && ctx.method === "POST") {
    const form = await formOf(ctx);
    if (form.get("action") === "cancel") {
      return provider.interactionFinished(ctx.req, ctx.res, {
        error: "access_denied",
        error_description: "The user cancelled signing in.",
      });
    }
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const email = (form.get("email") ?? "").trim().toLowerCase();
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) ctx.throw(400, "an email address is required");
    const sub = form.get("sub")?.trim() || subFor(email);
    const quirk = QUIRKS.find((q) => q === form.get("quirk")) ?? "none";
    const name = form.get("name")?.trim() || email.split("@")[0] || "Test User";
    accounts.set(sub, { email, emailVerified: form.get("emailVerified") === "on", name, quirk });

    const grant = new provider.Grant({ accountId: sub, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope ?? "openid"));
    const grantId = await grant.save();
    return provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: sub }, consent: { grantId } });
  }
  if (picture && ctx.method === "GET") {
    const hue = parseInt(picture[1]?.slice(0, 6) || "0", 16) % 360;
    ctx.type = "image/png";
    ctx.body = await sharp({
      create: { width: 128, height: 128, channels: 3, background: `hsl(${hue}, 60%, 50%)` },
    })
      .png()
      .toBuffer();
    return;
  }
  await next();
});

const tls = { cert: readFileSync(required("OIDC_TLS_CERT")), key: readFileSync(required("OIDC_TLS_KEY")) };
// Both loopback addresses, since browsers and Node may resolve `localhost` to either.
for (const host of ["127.0.0.1", "::1"]) {
  const server = createServer(tls, provider.callback()).listen(port, host);
  server.on("error", (err: NodeJS.ErrnoException) => {
    if (host === "::1" && err.code === "EADDRNOTAVAIL") return; // no IPv6 loopback here
    throw err;
  });
}
process.stdout.write(`oidc-provider: ${issuer} on port ${port}\n`);
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0));
