/**
 * Issue 6: docker-compose.yml and docker-compose.prod.yml, checked without a Docker engine.
 * Each file is valid against the Compose Specification's JSON schema (ajv), and compose-go,
 * the loader docker compose itself uses, merges them into the project Docker would run:
 * locally a mail catcher and the local CA; in production neither, only ports 80 and 443,
 * and restart policies, log rotation and limits everywhere. The services read the same
 * variables the native stack sets, so what the native stack tests is what Docker runs.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parseDocument, type Tags } from "yaml";
import { ROOT, stackSettings } from "./settings.js";
import { REDIS_APP_USER, appUserRules } from "./redis-acl.js";
import { appEnv, nginxEnv } from "./stack.js";
import { tool } from "./tools.js";

const run = promisify(execFile);

type Service = {
  command?: string[];
  ports?: Array<{ target: number; published: string; host_ip?: string }>;
  environment?: Record<string, string | null>;
  restart?: string;
  logging?: { driver: string; options: Record<string, string> };
  deploy?: { replicas?: number; resources?: { limits?: { memory?: string; cpus?: number } } };
  depends_on?: Record<string, { condition: string }>;
  volumes?: Array<{ source: string; target: string; read_only?: boolean }>;
  profiles?: string[];
};
type Project = { services: Record<string, Service> };

// The Compose Specification's merge tags: for the schema, a tagged node is its plain value.
const composeTags: Tags = ["!reset", "!override"].map((tag) => ({
  tag,
  identify: () => false,
  resolve: (value: unknown) => value,
}));

/** What scripts/gen-env writes, plus a production .env's settings. */
const localEnv = {
  MONGO_ROOT_PASSWORD: "o".repeat(48),
  MONGO_PASSWORD: "m".repeat(48),
  REDIS_ADMIN_PASSWORD: "a".repeat(48),
  REDIS_PASSWORD: "r".repeat(48),
  SESSION_SECRETS: "s".repeat(64),
  MASTER_KEYS: `k1:${Buffer.alloc(32, 1).toString("base64")}`,
};
const prodEnv = {
  ...localEnv,
  DOMAIN: "chat.example.org",
  SMTP_URL: "smtps://duet:secret@smtp.example.org:465",
  MAIL_FROM: "Duet <no-reply@chat.example.org>",
};

async function composeConfig(files: string[], env: Record<string, string>): Promise<Project> {
  const { stdout } = await run(tool("composeConfig"), files, { cwd: ROOT, env: { PATH: process.env.PATH, ...env } });
  return JSON.parse(stdout) as Project;
}

describe("the compose files", () => {
  const schema = JSON.parse(readFileSync(tool("composeSchema"), "utf8")) as object;
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);

  for (const file of ["docker-compose.yml", "docker-compose.prod.yml"]) {
    test(`${file} is valid against the Compose Specification's JSON schema`, () => {
      const doc = parseDocument(readFileSync(join(ROOT, file), "utf8"), { customTags: composeTags });
      assert.deepEqual(doc.errors, []);
      const valid = validate(doc.toJS({ maxAliasCount: -1 }));
      assert.ok(valid, JSON.stringify(validate.errors, null, 2));
    });
  }

  test("locally: 2 app replicas, the mail catcher and the local CA, nginx the only one with ports", async () => {
    const project = await composeConfig(["docker-compose.yml"], localEnv);
    assert.deepEqual(Object.keys(project.services).sort(), ["app", "certs", "maildev", "mongodb", "nginx", "redis"]);
    assert.equal(project.services.app?.deploy?.replicas, 2);
    const published = Object.entries(project.services).filter(([, s]) => s.ports?.length);
    assert.deepEqual(
      published.map(([name]) => name),
      ["nginx"],
    );
    const inbox = project.services.nginx?.ports?.find((p) => p.target === 8025);
    assert.equal(inbox?.host_ip, "127.0.0.1", "the mail inbox is published on loopback only");
    for (const [name, dep] of Object.entries(project.services.app?.depends_on ?? {})) {
      assert.equal(dep.condition, "service_healthy", name);
    }
  });

  test("in production: no mail catcher or local CA, only 80 and 443, restarts, rotated logs, limits", async () => {
    const project = await composeConfig(["docker-compose.yml", "docker-compose.prod.yml"], prodEnv);
    const services = project.services;
    assert.deepEqual(Object.keys(services).sort(), ["app", "certbot", "mongodb", "nginx", "redis"]);
    assert.deepEqual(services.nginx?.ports?.map((p) => `${p.published}:${p.target}`).sort(), ["443:443", "80:80"]);
    for (const [name, service] of Object.entries(services)) {
      if (name !== "nginx") assert.equal(service.ports, undefined, `${name} publishes no port`);
      assert.equal(service.restart, "always", name);
      assert.equal(service.logging?.driver, "json-file", name);
      assert.ok(service.logging?.options["max-size"] && service.logging.options["max-file"], `${name} rotates its logs`);
      assert.ok(service.deploy?.resources?.limits?.memory, `${name} has a memory limit`);
    }
    assert.equal(services.app?.environment?.PUBLIC_URL, "https://chat.example.org");
    assert.equal(services.app?.environment?.SMTP_URL, prodEnv.SMTP_URL);
    assert.deepEqual(Object.keys(services.app?.depends_on ?? {}).sort(), ["mongodb", "redis"]);
    const nginx = services.nginx?.environment ?? {};
    assert.equal(nginx.TLS_CERT, "/etc/letsencrypt/live/chat.example.org/fullchain.pem");
    assert.ok(!("MAIL_INBOX_UPSTREAM" in nginx), "no mail inbox server in production");
    // certbot writes challenges where nginx serves them, and certificates where nginx reads them.
    const mounts = (s?: Service) => (s?.volumes ?? []).map((v) => `${v.source}:${v.target}`);
    assert.ok(mounts(services.certbot).includes("acme-webroot:/var/www/acme"));
    assert.ok(mounts(services.nginx).includes("acme-webroot:/var/www/acme"));
    assert.ok(mounts(services.certbot).includes("letsencrypt:/etc/letsencrypt"));
    assert.ok(mounts(services.nginx).includes("letsencrypt:/etc/letsencrypt"));
  });

  test("production refuses to start without its domain and mail server, naming each", async () => {
    const { DOMAIN: _d, SMTP_URL: _s, ...incomplete } = prodEnv;
    await assert.rejects(
      composeConfig(["docker-compose.yml", "docker-compose.prod.yml"], incomplete),
      (err: { stderr: string }) => {
        assert.match(err.stderr, /set DOMAIN in \.env/);
        assert.match(err.stderr, /set SMTP_URL in \.env/);
        return true;
      },
    );
  });

  for (const files of [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.prod.yml"]]) {
    test(`${files.join(" + ")}: the app connects to MongoDB and Redis as its own users, not as their administrators`, async () => {
      const project = await composeConfig(files, prodEnv);
      const app = project.services.app?.environment ?? {};
      const mongo = project.services.mongodb?.environment ?? {};
      const mounts = (s?: Service) => (s?.volumes ?? []).map((v) => `${v.source}:${v.target}${v.read_only ? ":ro" : ""}`);

      const mongoUri = new URL(app.MONGODB_URI ?? "");
      assert.ok(mongoUri.username, "the app authenticates to MongoDB");
      assert.notEqual(mongoUri.username, mongo.MONGO_INITDB_ROOT_USERNAME, "the app is not MongoDB's root");
      assert.notEqual(decodeURIComponent(mongoUri.password), mongo.MONGO_INITDB_ROOT_PASSWORD);
      assert.equal(mongoUri.pathname, "/duet");
      assert.equal(mongoUri.searchParams.get("authSource"), "duet", "a user of the duet database, not of admin");
      // The init script creates exactly that user, readWrite on duet and nothing more.
      assert.equal(mongo.DUET_MONGO_USER, mongoUri.username);
      assert.equal(mongo.DUET_MONGO_PASSWORD, decodeURIComponent(mongoUri.password));
      assert.ok(mounts(project.services.mongodb).includes("./mongodb/initdb:/docker-entrypoint-initdb.d:ro"));
      const init = join(ROOT, "mongodb", "initdb", "10-duet-app-user.js");
      await run(process.execPath, ["--check", init]);
      const roles = [...readFileSync(init, "utf8").matchAll(/role: "(\w+)", db: "(\w+)"/g)].map((m) => `${m[1]}@${m[2]}`);
      assert.deepEqual(roles, ["readWrite@duet"]);

      const redisUrl = new URL(app.REDIS_URL ?? "");
      assert.equal(redisUrl.username, REDIS_APP_USER, "the app is Redis's duet user, not default");
      const redis = project.services.redis;
      assert.equal(redis?.environment?.REDIS_PASSWORD, decodeURIComponent(redisUrl.password));
      assert.notEqual(redis?.environment?.REDIS_ADMIN_PASSWORD, redis?.environment?.REDIS_PASSWORD);
      assert.deepEqual(redis?.command, ["sh", "/opt/duet/redis/start.sh"], "Redis starts with Duet's users");
      assert.ok(mounts(redis).includes("./redis:/opt/duet/redis:ro"));
      // The app user's rules: nothing by default, Duet's prefix only, no blanket grant.
      const rules = appUserRules().split(" ");
      for (const rule of ["resetkeys", "resetchannels", "-@all", "~duet:*", "&duet:*"]) assert.ok(rules.includes(rule), rule);
      for (const rule of [
        "+@all",
        "allcommands",
        "allkeys",
        "allchannels",
        "~*",
        "&*",
        "nopass",
        "+flushall",
        "+config",
        "+keys",
      ])
        assert.ok(!rules.includes(rule), rule);
    });
  }

  test("the services read the same variables the native stack sets", async () => {
    const project = await composeConfig(["docker-compose.yml"], localEnv);
    const settings = stackSettings();
    const nativeApp = Object.keys(appEnv(settings, { redisPassword: "x", sessionSecrets: "y", masterKeys: "z" }, 0));
    const composeApp = Object.keys(project.services.app?.environment ?? {});
    assert.deepEqual(
      composeApp.filter((name) => !nativeApp.includes(name)),
      [],
    );
    // nginx: everything compose sets is a variable render.sh reads, and vice versa for the native stack.
    const renderScript = readFileSync(join(ROOT, "nginx", "render.sh"), "utf8");
    const composeNginx = Object.keys(project.services.nginx?.environment ?? {});
    assert.deepEqual(
      composeNginx.filter((name) => !renderScript.includes(name)),
      [],
    );
    assert.deepEqual(
      Object.keys(nginxEnv(settings)).filter((name) => name !== "PATH" && !renderScript.includes(name)),
      [],
    );
  });
});
