import assert from "node:assert/strict";
import { createECDH } from "node:crypto";
import { describe, it } from "node:test";
import { ConfigError, DEV_SESSION_SECRET, loadConfig, redact, scrub } from "./config.js";

const strong = "a".repeat(64);
const production = {
  NODE_ENV: "production",
  PUBLIC_URL: "https://chat.example.com",
  MONGODB_URI: "mongodb://duet:pw@mongodb:27017/duet",
  REDIS_URL: "redis://:pw@redis:6379",
  SMTP_URL: "smtps://user:pw@smtp.example.com:465",
  SESSION_SECRETS: strong,
  MASTER_KEYS: `k1:${Buffer.alloc(32, 1).toString("base64")}`,
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

describe("configuration", () => {
  it("development starts with safe defaults and says which ones it used", () => {
    const { config, warnings } = loadConfig({});
    assert.equal(config.env, "development");
    assert.deepEqual(config.sessionSecrets, [DEV_SESSION_SECRET]);
    assert.equal(config.mongodbUri, "mongodb://127.0.0.1:27017/duet");
    assert.ok(warnings.some((w) => w.includes("SESSION_SECRETS")));
    assert.ok(Object.isFrozen(config));
  });

  it("a complete production environment loads without warnings", () => {
    const { config, warnings } = loadConfig(production);
    assert.equal(config.isProduction, true);
    assert.equal(config.publicUrl, "https://chat.example.com");
    assert.deepEqual(warnings, []);
  });

  it("production refuses a missing secret, naming it and how to make one", () => {
    const problems = problemsOf({ ...production, SESSION_SECRETS: undefined });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? "", /SESSION_SECRETS is required.*openssl rand -hex 32/);
  });

  it("production refuses the public development secret and short secrets", () => {
    assert.match(problemsOf({ ...production, SESSION_SECRETS: DEV_SESSION_SECRET }).join(), /public development secret/);
    assert.match(
      problemsOf({ ...production, SESSION_SECRETS: `${strong},short` }).join(),
      /SESSION_SECRETS\[1\] is shorter than 32/,
    );
  });

  it("a short backup signing key is refused without printing it", () => {
    const short = "backup-key-too-short";
    const problems = problemsOf({ ...production, BACKUP_SIGNING_KEY: short });
    assert.match(problems.join(), /BACKUP_SIGNING_KEY is shorter than 32 characters/);
    assert.ok(!problems.join().includes(short));
    assert.equal(loadConfig({ ...production, BACKUP_SIGNING_KEY: strong }).config.backupSigningKey, strong);
  });

  it("the room-key age is days, 0 turning the schedule off; anything else is refused by name", () => {
    assert.equal(loadConfig(production).config.roomKeyMaxAgeMs, 30 * 86_400_000);
    assert.equal(loadConfig({ ...production, ROOM_KEY_MAX_AGE_DAYS: "0" }).config.roomKeyMaxAgeMs, 0);
    assert.equal(loadConfig({ ...production, ROOM_KEY_MAX_AGE_DAYS: "0.5" }).config.roomKeyMaxAgeMs, 43_200_000);
    for (const bad of ["-1", "soon", "99999"])
      assert.match(problemsOf({ ...production, ROOM_KEY_MAX_AGE_DAYS: bad }).join(), /ROOM_KEY_MAX_AGE_DAYS/);
  });

  it("room activity is not paced unless a database with one writer asks for it (the native stack's SQLite)", () => {
    assert.equal(loadConfig(production).config.roomActivityPauseMs, 0);
    assert.equal(loadConfig({ ...production, ROOM_ACTIVITY_PAUSE_MS: "20" }).config.roomActivityPauseMs, 20);
    for (const bad of ["-1", "2.5", "5000"])
      assert.match(problemsOf({ ...production, ROOM_ACTIVITY_PAUSE_MS: bad }).join(), /ROOM_ACTIVITY_PAUSE_MS/);
  });

  it("every problem is listed at once, not one per start", () => {
    const problems = problemsOf({ NODE_ENV: "production" });
    for (const key of ["PUBLIC_URL", "MONGODB_URI", "REDIS_URL", "SMTP_URL", "SESSION_SECRETS"]) {
      assert.ok(
        problems.some((p) => p.startsWith(key)),
        `${key} missing from ${problems.join("; ")}`,
      );
    }
  });

  it("malformed values are named with what was given", () => {
    const problems = problemsOf({ PORT: "eighty", MONGODB_URI: "postgres://x", LOG_LEVEL: "loud" });
    assert.equal(problems.length, 3);
    assert.ok(problems.some((p) => p.startsWith("PORT:") && p.includes('"eighty"')));
    assert.ok(problems.some((p) => p.startsWith("MONGODB_URI:") && p.includes("mongodb://")));
    assert.ok(problems.some((p) => p.startsWith("LOG_LEVEL:")));
  });

  it("production requires an https public origin without a path", () => {
    assert.match(problemsOf({ ...production, PUBLIC_URL: "http://chat.example.com" }).join(), /must be https/);
    assert.match(problemsOf({ ...production, PUBLIC_URL: "https://example.com/chat" }).join(), /without a path/);
  });

  it("empty values count as unset, as compose files write them", () => {
    assert.match(problemsOf({ ...production, SESSION_SECRETS: "" }).join(), /SESSION_SECRETS is required/);
  });

  it("passwords in connection URLs are redacted for logs", () => {
    assert.equal(redact("mongodb://duet:hunter2@db:27017/duet"), "mongodb://duet:***@db:27017/duet");
    assert.equal(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
  });
});

describe("credentials in start-up errors", () => {
  const passwords = ["hunter2", "s3cret", "12/ss", "p@ss"];
  const assertNoPassword = (text: string) => {
    for (const password of passwords) assert.ok(!text.includes(password), `${password} shown in: ${text}`);
    assert.doesNotMatch(text, /12%2Fss|p%40ss/);
  };

  it("a connection URL with the wrong scheme is named with its password hidden", () => {
    const problems = problemsOf({ MONGODB_URI: "postgres://duet:hunter2@db:5432/duet", REDIS_URL: "http://:s3cret@redis:6379" });
    assert.equal(problems.length, 2, problems.join("\n"));
    assert.match(problems.join("\n"), /MONGODB_URI: must be a mongodb:\/\/.*postgres:\/\/duet:\*\*\*@db:5432\/duet/);
    assert.match(problems.join("\n"), /REDIS_URL: must be a redis:\/\/.*http:\/\/:\*\*\*@redis:6379/);
    assertNoPassword(problems.join("\n"));
  });

  it("a value that is not a URL at all is not printed, since where its password sits is unknown", () => {
    const raw = { MONGODB_URI: "mongodb://duet:hunter2@db:notaport/duet", REDIS_URL: "redis://:s3cret@[bad" };
    const problems = problemsOf(raw);
    assert.equal(problems.length, 2, problems.join("\n"));
    for (const [key, value] of Object.entries(raw)) {
      const problem = problems.find((p) => p.startsWith(`${key}:`)) ?? "";
      assert.match(problem, /not shown/);
      assert.ok(!problem.includes(value.slice(0, 12)), problem);
    }
    assertNoPassword(problems.join("\n"));
  });

  it("a password that breaks the URL apart (an unescaped / # or ?) is not printed in pieces", () => {
    // Parsed as host "duet", port 12 and path "/ss@db/duet": the password straddles the host and the path.
    for (const url of ["mongodb://duet:12/ss@db/duet", "redis://duet:12#ss@redis", "redis://duet:12?ss@redis"]) {
      const shown = redact(url);
      assert.doesNotMatch(shown, /12|ss@/, `${url} shown as ${shown}`);
    }
  });

  it("passwords in the query string are hidden too", () => {
    const shown = redact("mongodb://db/duet?authSource=admin&tlsCertificateKeyFilePassword=hunter2");
    assertNoPassword(shown);
    assert.match(shown, /authSource=admin/);
    assertNoPassword(problemsOf({ REDIS_URL: "http://redis:6379/0?password=s3cret" }).join());
  });

  it("secret settings are named but never echoed", () => {
    const secret = "s3cret".repeat(60);
    const problems = problemsOf({
      ...production,
      GOOGLE_CLIENT_ID: "id",
      GOOGLE_CLIENT_SECRET: secret,
      PUBLIC_URL: "http://u:hunter2@chat.example.com",
    });
    assert.ok(
      problems.some((p) => p.startsWith("GOOGLE_CLIENT_SECRET:")),
      problems.join("\n"),
    );
    assertNoPassword(problems.join("\n"));
  });

  it("a driver's error message is scrubbed of the configured passwords before it is printed", () => {
    const urls = ["mongodb://duet:hunter2@db:27017/duet", "redis://:p%40ss@redis:6379"];
    const message = "auth failed for mongodb://duet:hunter2@db:27017/duet (password hunter2); redis said p@ss";
    const clean = scrub(message, urls);
    assertNoPassword(clean);
    assert.match(clean, /auth failed for mongodb:\/\/duet:\*\*\*@db:27017\/duet/);
  });
});

describe("trusted proxies setting", () => {
  it("accepts addresses and CIDR ranges", () => {
    assert.deepEqual(loadConfig({ TRUSTED_PROXIES: "127.0.0.1, ::1,172.16.0.0/12" }).config.trustedProxies, [
      "127.0.0.1",
      "::1",
      "172.16.0.0/12",
    ]);
  });

  it("names an entry that is not an address", () => {
    assert.match(
      problemsOf({ TRUSTED_PROXIES: "127.0.0.1,nginx,10.0.0.0/99" }).join("; "),
      /nginx is not an IP.*10\.0\.0\.0\/99 is not/,
    );
  });
});

describe("master keys setting", () => {
  it("production requires master keys and says how to make one", () => {
    assert.match(
      problemsOf({ ...production, MASTER_KEYS: undefined }).join(),
      /MASTER_KEYS is required.*openssl rand -base64 32/,
    );
  });

  it("names a malformed key and refuses the public development key in production", () => {
    assert.match(
      problemsOf({ ...production, MASTER_KEYS: "k1:tooshort" }).join(),
      /MASTER_KEYS entry 1 \(k1\): the key must be 32 bytes/,
    );
    assert.match(
      problemsOf({ ...production, MASTER_KEYS: `dev:${Buffer.alloc(32, 7).toString("base64")}` }).join(),
      /public development key/,
    );
  });

  it("keeps every key, newest first, so old rooms still open after a rotation", () => {
    const keys = loadConfig({
      ...production,
      MASTER_KEYS: `new:${Buffer.alloc(32, 2).toString("base64")},old:${Buffer.alloc(32, 1).toString("base64")}`,
    }).config.masterKeys;
    assert.deepEqual(
      keys.map((k) => k.id),
      ["new", "old"],
    );
  });

  describe("Google sign-in", () => {
    it("is off unless both the client id and secret are set, and one alone is a problem", () => {
      assert.equal(loadConfig(production).config.google, undefined);
      assert.match(problemsOf({ ...production, GOOGLE_CLIENT_ID: "id" }).join(), /GOOGLE_CLIENT_SECRET is required/);
      assert.match(problemsOf({ ...production, GOOGLE_CLIENT_SECRET: "secret" }).join(), /GOOGLE_CLIENT_ID is required/);
    });

    it("defaults to Google's endpoints, and each can be pointed elsewhere", () => {
      const { config } = loadConfig({ ...production, GOOGLE_CLIENT_ID: "id", GOOGLE_CLIENT_SECRET: "secret" });
      assert.equal(config.google?.issuer, "https://accounts.google.com");
      assert.equal(config.google.jwksUrl, "https://www.googleapis.com/oauth2/v3/certs");
      assert.deepEqual(config.google.pictureOrigins, ["https://lh3.googleusercontent.com"]);
      const local = loadConfig({
        ...production,
        GOOGLE_CLIENT_ID: "id",
        GOOGLE_CLIENT_SECRET: "secret",
        GOOGLE_ISSUER: "https://localhost:8490",
        GOOGLE_TOKEN_URL: "https://localhost:8490/token",
        GOOGLE_PICTURE_ORIGINS: "none",
      }).config.google;
      assert.equal(local?.issuer, "https://localhost:8490");
      assert.equal(local.tokenUrl, "https://localhost:8490/token");
      assert.deepEqual(local.pictureOrigins, []);
    });

    it("production refuses plain-http provider endpoints and picture origins that are not https origins", () => {
      const problems = problemsOf({
        ...production,
        GOOGLE_CLIENT_ID: "id",
        GOOGLE_CLIENT_SECRET: "secret",
        GOOGLE_JWKS_URL: "http://keys.example/jwks",
        GOOGLE_PICTURE_ORIGINS: "https://ok.example,http://plain.example,https://x.example/path",
      });
      assert.equal(problems.length, 3, problems.join("\n"));
      assert.match(problems.join(), /GOOGLE_JWKS_URL must be https/);
    });
  });
});

describe("Web Push (VAPID) setting", () => {
  const pair = () => {
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    return {
      VAPID_PUBLIC_KEY: ecdh.getPublicKey().toString("base64url"),
      VAPID_PRIVATE_KEY: ecdh.getPrivateKey().toString("base64url"),
    };
  };

  it("is off unless both keys are set, and one alone is a problem", () => {
    assert.equal(loadConfig(production).config.push, undefined);
    const { VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY } = pair();
    assert.match(problemsOf({ ...production, VAPID_PUBLIC_KEY }).join(), /VAPID_PRIVATE_KEY is required/);
    assert.match(problemsOf({ ...production, VAPID_PRIVATE_KEY }).join(), /VAPID_PUBLIC_KEY is required/);
  });

  it("loads a generated pair, with the site as subject and the browsers' push services as hosts", () => {
    const keys = pair();
    const push = loadConfig({ ...production, ...keys }).config.push;
    assert.equal(push?.publicKey, keys.VAPID_PUBLIC_KEY);
    assert.equal(push.subject, "https://chat.example.com");
    assert.ok(push.serviceHosts.includes("fcm.googleapis.com"));
  });

  it("refuses malformed keys, a mismatched pair and a bad subject, without printing the private key", () => {
    const a = pair();
    const b = pair();
    const mismatched = problemsOf({
      ...production,
      VAPID_PUBLIC_KEY: a.VAPID_PUBLIC_KEY,
      VAPID_PRIVATE_KEY: b.VAPID_PRIVATE_KEY,
    });
    assert.match(mismatched.join(), /VAPID_PUBLIC_KEY is not the public half of VAPID_PRIVATE_KEY/);
    assert.ok(!mismatched.join().includes(b.VAPID_PRIVATE_KEY));
    const malformed = problemsOf({ ...production, VAPID_PUBLIC_KEY: "not base64!", VAPID_PRIVATE_KEY: "c2hvcnQ" });
    assert.equal(malformed.length, 2, malformed.join("\n"));
    assert.match(problemsOf({ ...production, ...a, VAPID_SUBJECT: "admin" }).join(), /VAPID_SUBJECT must be a mailto:/);
    assert.match(problemsOf({ ...production, ...a, PUSH_SERVICE_HOSTS: "https://x.example" }).join(), /PUSH_SERVICE_HOSTS/);
  });
});
