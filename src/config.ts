/**
 * The only module that reads `process.env`.
 *
 * `loadConfig` is pure (env in, frozen config out) so tests can feed it any environment;
 * `readConfig` is what the server calls: it prints every problem with a fix and exits.
 */
import { createECDH } from "node:crypto";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { z } from "zod";
import { parseMasterKeys, type MasterKey } from "./master-keys.js";

/** Session signing key that development falls back to; refused in production. */
export const DEV_SESSION_SECRET = "duet-development-only-session-secret-not-for-production";

const SECRET_HINT = "generate one with `openssl rand -hex 32`";

/** Google's OpenID Connect endpoints; each can be pointed at another provider (the tests' local one). */
export const GOOGLE_DEFAULTS = {
  issuer: "https://accounts.google.com",
  authorizeUrl: "https://accounts.google.com/o/oauth2/v2/auth",
  tokenUrl: "https://oauth2.googleapis.com/token",
  jwksUrl: "https://www.googleapis.com/oauth2/v3/certs",
  pictureOrigins: "https://lh3.googleusercontent.com",
} as const;

/**
 * Hosts of the browsers' push services (Chrome, Firefox, Edge, Safari). A subscription's endpoint
 * must be on one of them: the server POSTs to it, so any other host would let a user make Duet
 * send requests wherever they like. `*.` allows any subdomain.
 */
export const PUSH_SERVICE_DEFAULTS =
  "fcm.googleapis.com,updates.push.services.mozilla.com,*.notify.windows.com,web.push.apple.com";

const nodeEnv = z.enum(["development", "production", "test"]);
const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);
const port = z.coerce.number().int().min(1).max(65535);

function urlWithProtocols(protocols: string[]) {
  return z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a ${protocols.map((p) => p.replace(":", "://")).join(" or ")} URL` },
  );
}

const schema = z.object({
  NODE_ENV: nodeEnv.default("development"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: port.default(3000),
  INSTANCE_NAME: z.string().min(1).max(64).default(hostname()),
  PUBLIC_URL: urlWithProtocols(["https:", "http:"]).optional(),
  MONGODB_URI: urlWithProtocols(["mongodb:", "mongodb+srv:"]).optional(),
  REDIS_URL: urlWithProtocols(["redis:", "rediss:"]).optional(),
  SMTP_URL: urlWithProtocols(["smtp:", "smtps:"]).optional(),
  MAIL_FROM: z.string().min(3).default("Duet <no-reply@localhost>"),
  SESSION_SECRETS: z.string().optional(),
  MASTER_KEYS: z.string().optional(),
  BACKUP_SIGNING_KEY: z.string().optional(),
  ROOM_KEY_MAX_AGE_DAYS: z.coerce.number().min(0).max(3650).default(30),
  TRUSTED_PROXIES: z.string().default("127.0.0.1,::1"),
  LOG_LEVEL: logLevel.default("info"),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  STARTUP_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  // nginx/render.sh reads ATTACHMENT_MAX_MB too, for its body limit on uploads.
  ATTACHMENT_MAX_MB: z.coerce.number().int().min(1).max(2048).default(25),
  ATTACHMENT_QUOTA_MB: z.coerce.number().int().min(1).max(10_000_000).default(2048),
  ATTACHMENT_UPLOADS_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(120),
  ATTACHMENT_UNSENT_HOURS: z.coerce.number().min(1).max(720).default(24),
  MESSAGE_WRITES_IN_FLIGHT: z.coerce.number().int().min(1).max(64).default(4),
  ROOM_ACTIVITY_PAUSE_MS: z.coerce.number().int().min(0).max(1000).default(0),
  GOOGLE_CLIENT_ID: z.string().min(1).max(300).optional(),
  GOOGLE_CLIENT_SECRET: z.string().min(1).max(300).optional(),
  GOOGLE_ISSUER: urlWithProtocols(["https:", "http:"]).default(GOOGLE_DEFAULTS.issuer),
  GOOGLE_AUTHORIZE_URL: urlWithProtocols(["https:", "http:"]).default(GOOGLE_DEFAULTS.authorizeUrl),
  GOOGLE_TOKEN_URL: urlWithProtocols(["https:", "http:"]).default(GOOGLE_DEFAULTS.tokenUrl),
  GOOGLE_JWKS_URL: urlWithProtocols(["https:", "http:"]).default(GOOGLE_DEFAULTS.jwksUrl),
  GOOGLE_PICTURE_ORIGINS: z.string().default(GOOGLE_DEFAULTS.pictureOrigins),
  VAPID_PUBLIC_KEY: z.string().optional(),
  VAPID_PRIVATE_KEY: z.string().optional(),
  VAPID_SUBJECT: z.string().optional(),
  PUSH_SERVICE_HOSTS: z.string().default(PUSH_SERVICE_DEFAULTS),
});

export type Config = Readonly<{
  env: z.infer<typeof nodeEnv>;
  isProduction: boolean;
  host: string;
  port: number;
  instanceName: string;
  /** Origin users reach the site at, e.g. `https://chat.example.com`; no trailing slash. */
  publicUrl: string;
  mongodbUri: string;
  redisUrl: string;
  smtpUrl: string;
  mailFrom: string;
  /** Newest first: the first signs, all verify, so keys rotate without signing anyone out. */
  sessionSecrets: readonly string[];
  /** Keys that wrap each room's message key, newest first (the first wraps new rooms). */
  masterKeys: readonly MasterKey[];
  /**
   * Signs backups instead of the first session secret, and verifies them besides the session
   * secrets: set it to another installation's secret to restore that installation's archive.
   */
  backupSigningKey: string | undefined;
  /** A room whose newest data key is older than this gets a new one (0: never, on demand only). */
  roomKeyMaxAgeMs: number;
  /** Addresses or CIDR ranges whose X-Forwarded-* headers are believed (nginx). */
  trustedProxies: readonly string[];
  logLevel: z.infer<typeof logLevel>;
  shutdownTimeoutMs: number;
  startupTimeoutMs: number;
  /**
   * Message inserts each instance keeps in flight (a room's still publish in number order). One
   * for FerretDB on SQLite, whose single writer backs off when contended (decision 005).
   */
  messageWritesInFlight: number;
  /**
   * Room activity (chat/room-activity.ts) goes one update at a time with this pause between
   * them (0: no pacing, for MongoDB). 20 for FerretDB on SQLite, where a run of updates holds
   * its one writer away from message inserts.
   */
  roomActivityPauseMs: number;
  /** "Sign in with Google": present only when both the client id and secret are configured. */
  google: GoogleConfig | undefined;
  /** Notifications when no tab is open: present only when both VAPID keys are configured. */
  push: PushConfig | undefined;
  attachments: Readonly<{
    /** Largest file, in bytes. */
    maxBytes: number;
    /** Bytes of attachments one user may have stored. */
    quotaBytes: number;
    /** Uploads started per user per hour, across instances. */
    uploadsPerHour: number;
    /** An upload no message carries is removed once it is this old. */
    unsentMaxAgeMs: number;
  }>;
}>;

export type GoogleConfig = Readonly<{
  clientId: string;
  clientSecret: string;
  issuer: string;
  authorizeUrl: string;
  tokenUrl: string;
  jwksUrl: string;
  /** Origins the profile picture may be downloaded from; empty: never download it. */
  pictureOrigins: readonly string[];
}>;

/** Web Push (the VAPID key pair that signs Duet's requests to push services); off when absent. */
export type PushConfig = Readonly<{
  /** Uncompressed P-256 public key, base64url (65 bytes): what browsers subscribe with. */
  publicKey: string;
  /** The P-256 private key, base64url (32 bytes). */
  privateKey: string;
  /** Who push services may contact about Duet's traffic: a mailto: or https: URL. */
  subject: string;
  /** Host names (or `*.suffix`) a subscription's endpoint may point at. */
  serviceHosts: readonly string[];
}>;

export type LoadedConfig = { config: Config; warnings: string[] };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

/** Validates `env` and returns the typed config, or throws a ConfigError listing every problem. */
export function loadConfig(env: Env): LoadedConfig {
  // Empty strings are how compose files spell "unset"; treat them so.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const problems: string[] = [];
  // Each variable is parsed on its own so that one bad value does not hide the others;
  // a bad one falls back to its default just long enough to finish checking the rest.
  const values: Record<string, unknown> = {};
  const invalid = new Set<string>();
  for (const [key, field] of Object.entries(schema.shape)) {
    const result = field.safeParse(cleaned[key]);
    if (result.success) {
      values[key] = result.data;
    } else {
      invalid.add(key);
      for (const issue of result.error.issues) problems.push(`${key}: ${issue.message}${given(key, cleaned[key])}`);
      values[key] = field.safeParse(undefined).data;
    }
  }
  const e = values as z.infer<typeof schema>;
  const production = e.NODE_ENV === "production";
  const warnings: string[] = [];

  function required(key: keyof typeof e, devDefault: string, hint: string): string {
    const value = e[key];
    if (typeof value === "string") return value;
    if (invalid.has(key)) return "";
    if (production) {
      problems.push(`${key} is required when NODE_ENV=production (${hint})`);
      return "";
    }
    warnings.push(`${key} not set; using development default ${redact(devDefault)}`);
    return devDefault;
  }

  const publicUrl = required(
    "PUBLIC_URL",
    `http://localhost:${e.PORT}`,
    "the https origin users open, e.g. https://chat.example.com",
  );
  if (production && publicUrl && !publicUrl.startsWith("https://")) {
    problems.push(`PUBLIC_URL must be https when NODE_ENV=production (got ${redact(publicUrl)})`);
  }
  if (publicUrl && new URL(publicUrl).pathname !== "/") {
    problems.push(`PUBLIC_URL must be an origin without a path (got ${redact(publicUrl)})`);
  }

  const trustedProxies = e.TRUSTED_PROXIES.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of trustedProxies) {
    const [address = "", bits] = entry.split("/");
    const maxBits = isIP(address) === 6 ? 128 : 32;
    if (isIP(address) === 0 || (bits !== undefined && !(Number(bits) >= 0 && Number(bits) <= maxBits))) {
      problems.push(`TRUSTED_PROXIES: ${entry} is not an IP address or CIDR range (e.g. 127.0.0.1,172.16.0.0/12)`);
    }
  }

  const masterKeys = masterKeyList(e.MASTER_KEYS, production, problems, warnings);
  const sessionSecrets = sessionSecretList(e.SESSION_SECRETS, production, problems, warnings);
  const google = googleConfig(e, production, problems);
  const push = pushConfig(e, publicUrl, problems);
  // Checked here, not in the schema, whose messages quote the value: a secret is never printed.
  if (e.BACKUP_SIGNING_KEY !== undefined && e.BACKUP_SIGNING_KEY.length < 32)
    problems.push(`BACKUP_SIGNING_KEY is shorter than 32 characters: ${SECRET_HINT}`);

  const config: Config = Object.freeze({
    env: e.NODE_ENV,
    isProduction: production,
    host: e.HOST,
    port: e.PORT,
    instanceName: e.INSTANCE_NAME,
    publicUrl: publicUrl ? new URL(publicUrl).origin : "",
    mongodbUri: required(
      "MONGODB_URI",
      "mongodb://127.0.0.1:27017/duet",
      "e.g. mongodb://duet:pass@mongodb:27017/duet?authSource=duet",
    ),
    redisUrl: required("REDIS_URL", "redis://127.0.0.1:6379", "e.g. redis://duet:password@redis:6379"),
    smtpUrl: required("SMTP_URL", "smtp://127.0.0.1:1025", "e.g. smtps://user:pass@smtp.example.com:465"),
    mailFrom: e.MAIL_FROM,
    sessionSecrets: Object.freeze(sessionSecrets),
    masterKeys: Object.freeze(masterKeys),
    backupSigningKey: e.BACKUP_SIGNING_KEY,
    roomKeyMaxAgeMs: Math.round(e.ROOM_KEY_MAX_AGE_DAYS * 86_400_000),
    trustedProxies: Object.freeze(trustedProxies),
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    startupTimeoutMs: e.STARTUP_TIMEOUT_MS,
    messageWritesInFlight: e.MESSAGE_WRITES_IN_FLIGHT,
    roomActivityPauseMs: e.ROOM_ACTIVITY_PAUSE_MS,
    google,
    push,
    attachments: Object.freeze({
      maxBytes: e.ATTACHMENT_MAX_MB * 1024 * 1024,
      quotaBytes: e.ATTACHMENT_QUOTA_MB * 1024 * 1024,
      uploadsPerHour: e.ATTACHMENT_UPLOADS_PER_HOUR,
      unsentMaxAgeMs: Math.round(e.ATTACHMENT_UNSENT_HOURS * 3_600_000),
    }),
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return { config, warnings };
}

/** A fixed, public key for development only: messages written with it are not secret. */
const DEV_MASTER_KEYS = `dev:${Buffer.alloc(32, 7).toString("base64")}`;

function masterKeyList(raw: string | undefined, production: boolean, problems: string[], warnings: string[]): MasterKey[] {
  if (raw === undefined) {
    if (production) {
      problems.push("MASTER_KEYS is required when NODE_ENV=production: set it to id:key, e.g. `k1:$(openssl rand -base64 32)`");
      return [];
    }
    warnings.push("MASTER_KEYS not set; using the insecure development key (messages are not protected at rest)");
    return parseMasterKeys(DEV_MASTER_KEYS);
  }
  try {
    const keys = parseMasterKeys(raw);
    if (production && keys.some((k) => k.key.equals(Buffer.alloc(32, 7))))
      problems.push("MASTER_KEYS contains the public development key");
    return keys;
  } catch (err) {
    problems.push(`MASTER_KEYS ${err instanceof Error ? err.message : String(err)}`);
    return [];
  }
}

function sessionSecretList(raw: string | undefined, production: boolean, problems: string[], warnings: string[]): string[] {
  if (raw === undefined) {
    if (production) {
      problems.push(`SESSION_SECRETS is required when NODE_ENV=production: ${SECRET_HINT}`);
      return [];
    }
    warnings.push("SESSION_SECRETS not set; using the insecure development secret");
    return [DEV_SESSION_SECRET];
  }
  const secrets = raw.split(",").map((s) => s.trim());
  secrets.forEach((secret, i) => {
    if (secret.length < 32) problems.push(`SESSION_SECRETS[${i}] is shorter than 32 characters: ${SECRET_HINT}`);
    if (production && secret === DEV_SESSION_SECRET) {
      problems.push(`SESSION_SECRETS[${i}] is the public development secret: ${SECRET_HINT}`);
    }
  });
  return secrets;
}

function googleConfig(e: z.infer<typeof schema>, production: boolean, problems: string[]): GoogleConfig | undefined {
  const { GOOGLE_CLIENT_ID: clientId, GOOGLE_CLIENT_SECRET: clientSecret } = e;
  if (!clientId && !clientSecret) return undefined;
  if (!clientId || !clientSecret) {
    const missing = clientId ? "GOOGLE_CLIENT_SECRET" : "GOOGLE_CLIENT_ID";
    problems.push(
      `${missing} is required when the other Google variable is set: copy both from Google Cloud Console → APIs & Services → Credentials, or unset both to turn Google sign-in off`,
    );
    return undefined;
  }
  const endpoints = {
    GOOGLE_ISSUER: e.GOOGLE_ISSUER,
    GOOGLE_AUTHORIZE_URL: e.GOOGLE_AUTHORIZE_URL,
    GOOGLE_TOKEN_URL: e.GOOGLE_TOKEN_URL,
    GOOGLE_JWKS_URL: e.GOOGLE_JWKS_URL,
  };
  if (production) {
    for (const [key, url] of Object.entries(endpoints)) {
      if (!url.startsWith("https://")) problems.push(`${key} must be https when NODE_ENV=production (got ${redact(url)})`);
    }
  }
  const pictureOrigins: string[] = [];
  for (const entry of e.GOOGLE_PICTURE_ORIGINS.split(",").map((s) => s.trim())) {
    if (entry === "" || entry === "none") continue;
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    if (!url || url.protocol !== "https:" || url.origin !== entry.replace(/\/$/, "")) {
      problems.push(
        `GOOGLE_PICTURE_ORIGINS: ${redact(entry)} is not an https origin (e.g. https://lh3.googleusercontent.com, or none)`,
      );
    } else pictureOrigins.push(url.origin);
  }
  return Object.freeze({
    clientId,
    clientSecret,
    issuer: e.GOOGLE_ISSUER,
    authorizeUrl: e.GOOGLE_AUTHORIZE_URL,
    tokenUrl: e.GOOGLE_TOKEN_URL,
    jwksUrl: e.GOOGLE_JWKS_URL,
    pictureOrigins: Object.freeze(pictureOrigins),
  });
}

const VAPID_HINT = "generate a pair with `scripts/gen-env` (or `npx web-push generate-vapid-keys`)";

// Like Google sign-in, optional: without the pair the profile offers no notifications.
function pushConfig(e: z.infer<typeof schema>, publicUrl: string, problems: string[]): PushConfig | undefined {
  const { VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: privateKey } = e;
  if (!publicKey && !privateKey) return undefined;
  if (!publicKey || !privateKey) {
    const missing = publicKey ? "VAPID_PRIVATE_KEY" : "VAPID_PUBLIC_KEY";
    problems.push(
      `${missing} is required when the other VAPID key is set: ${VAPID_HINT}, or unset both to turn notifications off`,
    );
    return undefined;
  }
  const pub = base64url(publicKey);
  const priv = base64url(privateKey);
  if (!pub || pub.length !== 65 || pub[0] !== 4)
    problems.push(`VAPID_PUBLIC_KEY is not an uncompressed P-256 public key in base64url (65 bytes): ${VAPID_HINT}`);
  if (!priv || priv.length !== 32)
    problems.push(`VAPID_PRIVATE_KEY is not a P-256 private key in base64url (32 bytes): ${VAPID_HINT}`);
  else if (pub?.length === 65 && !matchingPair(priv, pub))
    problems.push(`VAPID_PUBLIC_KEY is not the public half of VAPID_PRIVATE_KEY: set both from the same pair (${VAPID_HINT})`);
  const subject = e.VAPID_SUBJECT ?? (publicUrl.startsWith("https://") ? publicUrl : "mailto:admin@localhost");
  if (!/^(mailto:\S+@\S+|https:\/\/\S+)$/.test(subject))
    problems.push(
      `VAPID_SUBJECT must be a mailto: address or an https URL, e.g. mailto:admin@example.com (got ${JSON.stringify(subject)})`,
    );
  const serviceHosts = e.PUSH_SERVICE_HOSTS.split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  for (const host of serviceHosts) {
    if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host))
      problems.push(
        `PUSH_SERVICE_HOSTS: ${JSON.stringify(host)} is not a host name or *.domain (e.g. fcm.googleapis.com,*.notify.windows.com)`,
      );
  }
  return Object.freeze({ publicKey, privateKey, subject, serviceHosts: Object.freeze(serviceHosts) });
}

function base64url(text: string): Buffer | undefined {
  return /^[A-Za-z0-9_-]+$/.test(text) ? Buffer.from(text, "base64url") : undefined;
}

function matchingPair(privateKey: Buffer, publicKey: Buffer): boolean {
  try {
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(privateKey);
    return ecdh.getPublicKey().equals(publicKey);
  } catch {
    return false;
  }
}

// Start-up errors end up in terminals, CI logs and bug reports, so no credential is ever
// echoed: secrets not at all, URLs (which carry database and SMTP passwords) only redacted.
const SECRET_SETTINGS = new Set(["SESSION_SECRETS", "MASTER_KEYS", "GOOGLE_CLIENT_SECRET", "VAPID_PRIVATE_KEY"]);
const URL_SETTINGS = new Set([
  "PUBLIC_URL",
  "MONGODB_URI",
  "REDIS_URL",
  "SMTP_URL",
  "GOOGLE_ISSUER",
  "GOOGLE_AUTHORIZE_URL",
  "GOOGLE_TOKEN_URL",
  "GOOGLE_JWKS_URL",
  "GOOGLE_PICTURE_ORIGINS",
]);

/** " (got …)" for a problem message: what may be shown of the value given for `key`. */
function given(key: string, value: string | undefined): string {
  if (value === undefined || SECRET_SETTINGS.has(key)) return "";
  if (!URL_SETTINGS.has(key)) return ` (got ${JSON.stringify(value)})`;
  const shown = redact(value);
  return shown === NOT_A_URL ? " (the value is not shown: it is not a URL, and may hold a password)" : ` (got ${shown})`;
}

// Query parameters that may carry a credential (tlsCertificateKeyFilePassword, password, …).
const SECRET_PARAM = /pass|secret|token|key|credential/i;
const NOT_A_URL = "[not a URL; not shown, as it may hold a password]";

/**
 * A connection URL as it may be logged or printed: the password and secret-looking query
 * values become `***`. A value that does not parse is not shown at all, and neither is one
 * where an `@` follows the host: that is a password with an unescaped `/`, `?` or `#`, which
 * the parser split into host, port and path, so every part of it may hold a piece.
 */
export function redact(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return NOT_A_URL;
  }
  const afterHost = `${u.pathname}${u.search}${u.hash}`;
  if (afterHost.includes("@") || /%40/i.test(afterHost))
    return `${u.protocol}//… (not shown: it looks like a password with an unescaped character)`;
  if (u.password) u.password = "***";
  for (const [name] of u.searchParams) if (SECRET_PARAM.test(name)) u.searchParams.set(name, "***");
  return u.toString();
}

/**
 * `text` (a driver's error message, say) with every password of `urls` replaced by `***`,
 * raw and percent-decoded, and each whole URL by its redacted form.
 */
export function scrub(text: string, urls: readonly string[]): string {
  let clean = text;
  for (const url of urls) {
    clean = clean.split(url).join(redact(url));
    const password = URL.canParse(url) ? new URL(url).password : "";
    if (!password) continue;
    for (const form of new Set([password, safeDecode(password)])) clean = clean.split(form).join("***");
  }
  return clean;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Reads `process.env` once; on a bad value prints every problem and exits with status 78 (EX_CONFIG). */
export function readConfig(): LoadedConfig {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`duet: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
