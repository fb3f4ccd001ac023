/**
 * Issue 6: certbot obtains a certificate from pebble (Let's Encrypt's test ACME server)
 * through the project's own nginx config (HTTP-01 from the webroot on port 80), and nginx
 * then serves it, first and renewed, without a restart. This is the production path of
 * docker-compose.prod.yml: nginx starts on a placeholder before the first certificate
 * exists, and nginx/cert-watch.sh reloads it when certbot writes a new one.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { X509Certificate } from "node:crypto";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readStackEnv } from "../scripts/lib/stack-env.js";
import { freePort, startNginx, type NginxInstance } from "../scripts/lib/nginx-instance.js";
import { servedCertificate } from "../scripts/lib/tls-probe.js";
import { httpStatus, waitFor } from "../scripts/lib/wait.js";
import { ROOT } from "../scripts/lib/settings.js";

const run = promisify(execFile);
const stack = readStackEnv();
const certsDir = dirname(stack.CA_CERT);

describe("a real domain's certificate from an ACME server (pebble + certbot)", () => {
  const dir = mkdtempSync(join(tmpdir(), "duet-acme-"));
  // nginx's workers run unprivileged and must reach the challenge files in the webroot.
  chmodSync(dir, 0o755);
  const live = join(dir, "letsencrypt", "live", "localhost");
  const children: ChildProcess[] = [];
  let nginx: NginxInstance;
  let acmeDirectory: string;
  let pebbleRoot: string;

  function startChild(command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn(command, args, { env, stdio: "ignore" });
    children.push(child);
    return child;
  }

  function certbot(...args: string[]) {
    return run(
      "certbot",
      [
        ...args,
        ...["--config-dir", join(dir, "letsencrypt"), "--work-dir", join(dir, "work"), "--logs-dir", join(dir, "logs")],
        ...["--server", acmeDirectory, "--non-interactive"],
      ],
      // pebble's API is https with the local CA's certificate.
      { env: { ...process.env, REQUESTS_CA_BUNDLE: join(certsDir, "ca.pem") } },
    );
  }

  before(async () => {
    nginx = await startNginx(join(dir, "nginx"), {
      TLS_CERT: join(live, "fullchain.pem"),
      TLS_KEY: join(live, "privkey.pem"),
      TLS_PLACEHOLDER_DIR: join(dir, "placeholder"),
      APP_UPSTREAMS: stack.APP_INSTANCES.replaceAll("http://", "").replaceAll(",", " "),
    });
    const [api, management, tlsPort] = [await freePort(), await freePort(), await freePort()];
    const config = join(dir, "pebble.json");
    writeFileSync(
      config,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${api}`,
          managementListenAddress: `127.0.0.1:${management}`,
          certificate: join(certsDir, "server.pem"),
          privateKey: join(certsDir, "server.key"),
          // pebble validates HTTP-01 on this port: our nginx's port 80 stand-in.
          httpPort: nginx.httpPort,
          tlsPort,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
        },
      }),
    );
    startChild("pebble", ["-config", config], { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0" });
    acmeDirectory = `https://127.0.0.1:${api}/dir`;
    await waitFor("pebble", () => httpStatus(acmeDirectory, { caFile: join(certsDir, "ca.pem"), expect: 200 }), 10_000);
    const root = await fetch(`https://127.0.0.1:${management}/roots/0`);
    pebbleRoot = await root.text();
    // The watcher docker-compose.prod.yml runs in the nginx container, checking every second.
    startChild("sh", [join(ROOT, "nginx", "cert-watch.sh")], { ...nginx.env, NGINX_CERT_CHECK_SECONDS: "1" });
  });

  after(async () => {
    for (const child of children) child.kill();
    await nginx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until nginx serves the certificate certbot saved, verified against pebble's root. */
  async function servesCertificateIn(file: string) {
    const expected = new X509Certificate(readFileSync(file));
    await waitFor(
      "nginx serving the new certificate",
      async () => {
        const served = await servedCertificate(nginx.httpsPort, "localhost", pebbleRoot);
        assert.equal(served.serialNumber, expected.serialNumber);
      },
      15_000,
    );
    return expected;
  }

  test("before the first certificate, nginx starts on a self-signed placeholder", async () => {
    const placeholder = readFileSync(join(dir, "placeholder", "placeholder.pem"));
    const served = await servedCertificate(nginx.httpsPort, "localhost", placeholder);
    assert.match(served.subject.CN ?? "", /localhost/);
  });

  test("certbot obtains a certificate through nginx's ACME webroot, and nginx serves it after a reload", async () => {
    const started = Date.now();
    await certbot(
      "certonly",
      ...["--webroot", "-w", nginx.env.ACME_ROOT ?? ""],
      ...["-d", "localhost", "--agree-tos", "--register-unsafely-without-email"],
    );
    const issued = await servesCertificateIn(join(live, "cert.pem"));
    console.log(`# certbot issuance through nginx and reload: ${Date.now() - started} ms`);
    assert.match(issued.issuer, /Pebble Intermediate CA/);
    assert.ok(issued.checkHost("localhost"));
  });

  test("a renewed certificate replaces the old one without restarting nginx", async () => {
    const before = new X509Certificate(readFileSync(join(live, "cert.pem"))).serialNumber;
    // --force-renewal: the certificate is fresh, and renewal would otherwise wait for day 60.
    // --no-random-sleep-on-renew: certbot otherwise waits up to 8 minutes when not on a terminal.
    await certbot("renew", "--force-renewal", "--no-random-sleep-on-renew", "--webroot", "-w", nginx.env.ACME_ROOT ?? "");
    const renewed = await servesCertificateIn(join(live, "cert.pem"));
    assert.notEqual(renewed.serialNumber, before);
  });
});
