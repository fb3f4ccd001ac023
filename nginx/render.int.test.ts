/**
 * nginx/render.sh turns the templates into a config that Debian's nginx 1.22 accepts
 * (`nginx -t`), for every shape it is rendered in: the native stack, Docker's (all
 * interfaces, upstream names re-resolved through Docker's DNS) and production before its
 * first certificate. Alpine's nginx 1.28 runs the same files in the image.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readStackEnv } from "../scripts/lib/stack-env.js";
import { ROOT } from "../scripts/lib/settings.js";

const stack = readStackEnv();
const dir = mkdtempSync(join(tmpdir(), "duet-render-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The variables docker-compose.yml gives the nginx service, with paths that exist here. */
function dockerShapedEnv(name: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${process.env.PATH}:/usr/sbin`,
    SERVER_NAME: "localhost",
    PUBLIC_URL: "https://localhost",
    HTTP_PORT: "80",
    HTTPS_PORT: "443",
    TLS_CERT: join(ROOT, "certs", "fullchain.pem"),
    TLS_KEY: join(ROOT, "certs", "server.key"),
    APP_UPSTREAMS: "localhost:3000",
    NGINX_RESOLVER: "127.0.0.11",
    STATIC_ROOT: join(ROOT, "dist", "static"),
    ACME_ROOT: join(dir, name, "acme"),
    NGINX_RUN_DIR: join(dir, name, "run"),
    NGINX_CONF_DIR: join(dir, name, "conf"),
    MAIL_INBOX_UPSTREAM: "localhost:1080",
    MAIL_INBOX_PORT: "8025",
    ...extra,
  };
}

/**
 * Runs a command with its output in a file: nginx opens /dev/stdout for its access log, which
 * fails when that is a socket (as Node's pipes are), and works with files, pipes and terminals.
 */
function runLogged(command: string, args: string[], env: NodeJS.ProcessEnv): { status: number | null; stderr: string } {
  const log = join(dir, `run-${Math.random().toString(36).slice(2)}.log`);
  const fd = openSync(log, "w");
  try {
    const { status } = spawnSync(command, args, { env, stdio: ["ignore", fd, fd] });
    return { status, stderr: readFileSync(log, "utf8") };
  } finally {
    closeSync(fd);
  }
}

const render = (env: NodeJS.ProcessEnv) => runLogged("sh", [join(ROOT, "nginx", "render.sh")], env);
const nginxTest = (conf: string) => runLogged("nginx", ["-t", "-c", conf], { PATH: `${process.env.PATH}:/usr/sbin` });

describe("the nginx config, rendered from the templates", () => {
  test("the running stack's config passes nginx -t", () => {
    const result = nginxTest(join(stack.STACK_DIR, "nginx", "nginx.conf"));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /test is successful/);
  });

  test("Docker's shape passes nginx -t: all interfaces, Docker's resolver, the mail inbox", () => {
    const env = dockerShapedEnv("docker");
    const result = render(env);
    assert.equal(result.status, 0, result.stderr);
    const conf = readFileSync(join(dir, "docker", "conf", "nginx.conf"), "utf8");
    assert.match(conf, /listen 443 ssl http2 default_server;/);
    assert.match(conf, /listen \[::\]:443 ssl http2 default_server;/);
    assert.match(conf, /resolver 127\.0\.0\.11 valid=10s ipv6=off;/);
    // Debian's 1.22 cannot re-resolve upstreams and says so; 1.27.3+ (the image's 1.28) adds `resolve`.
    assert.match(conf, /server localhost:3000( resolve)? max_fails=3/);
    assert.match(result.stderr, /resolved once, at start/);
    assert.ok(existsSync(join(dir, "docker", "conf", "duet.d", "mail-inbox.conf")));
    assert.equal(nginxTest(join(dir, "docker", "conf", "nginx.conf")).status, 0);
  });

  test("production before its first certificate: a placeholder stands in and nginx -t passes", () => {
    const env = dockerShapedEnv("first-cert", {
      TLS_CERT: join(dir, "letsencrypt", "live", "example.org", "fullchain.pem"),
      TLS_KEY: join(dir, "letsencrypt", "live", "example.org", "privkey.pem"),
      TLS_PLACEHOLDER_DIR: join(dir, "placeholder"),
      SERVER_NAME: "example.org",
      PUBLIC_URL: "https://example.org",
      MAIL_INBOX_UPSTREAM: "",
    });
    const result = render(env);
    assert.equal(result.status, 0, result.stderr);
    const conf = readFileSync(join(dir, "first-cert", "conf", "nginx.conf"), "utf8");
    assert.match(conf, new RegExp(`ssl_certificate ${join(dir, "placeholder")}/placeholder.pem;`));
    assert.match(
      readFileSync(join(dir, "first-cert", "conf", "duet-headers.conf"), "utf8"),
      /connect-src 'self' wss:\/\/example\.org;/,
    );
    assert.ok(!existsSync(join(dir, "first-cert", "conf", "duet.d", "mail-inbox.conf")));
    const subject = execFileSync("openssl", ["x509", "-noout", "-subject", "-in", join(dir, "placeholder", "placeholder.pem")]);
    assert.match(subject.toString(), /CN ?= ?example\.org/);
  });

  test("a missing or plain-http setting is refused with the names to fix", () => {
    const missing = render({ PATH: process.env.PATH, NGINX_CONF_DIR: join(dir, "bad", "conf") });
    assert.equal(missing.status, 64);
    assert.match(missing.stderr, /missing environment variables: SERVER_NAME PUBLIC_URL HTTP_PORT/);
    const plain = render(dockerShapedEnv("plain", { PUBLIC_URL: "http://localhost" }));
    assert.equal(plain.status, 64);
    assert.match(plain.stderr, /PUBLIC_URL must start with https:\/\//);
  });
});
