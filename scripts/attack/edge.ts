/**
 * The attacker's side of nginx: HTTPS to the site's public address (APP_URL), never straight to
 * an app instance. Each browser comes from a loopback address of its own (127.a.b.c), so nginx
 * and the app see a distinct client and apply their per-address limits to it; the browser tests'
 * 127.0.0.1, which the native stack exempts from nginx's limit, is never used.
 */
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { probe } from "../lib/http-probe.js";
import { parseJson, visibleText, type Page, type TestBrowser } from "../../src/test/browser.js";
import { stack } from "../../src/test/support.js";

const ca = readFileSync(stack.CA_CERT);

// The harness attacks the local stack and nothing else, whatever its env file says.
if (!["localhost", "127.0.0.1", "[::1]"].includes(new URL(stack.APP_URL).hostname)) {
  throw new Error(`APP_URL ${stack.APP_URL} is not this machine: the attack harness only targets a local stack`);
}

/** A loopback address nginx has (almost surely) not seen: a fresh client with a full burst. */
export function freshAddress(): string {
  return `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
}

export type RawRequest = { method?: string; headers?: Record<string, string>; body?: string | Buffer };

/** A browser (cookie jar, CSRF token of the last page) that an attacker drives through nginx. */
export type EdgeBrowser = TestBrowser & {
  /** Sends anything: the jar's cookies are added, nothing else is. */
  request(path: string, init?: RawRequest): Promise<Page>;
  /** From now on, comes from another fresh loopback address. */
  hop(): void;
  /** A copy of the cookie jar, as `Cookie` header text. */
  cookieHeader(): string;
};

function toHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
  }
  return headers;
}

export function openEdgeBrowser(address = freshAddress()): EdgeBrowser {
  const jar = new Map<string, string>();
  let csrf = "";
  let base = stack.APP_URL;
  let ip = address;
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");

  async function request(path: string, init: RawRequest = {}): Promise<Page> {
    const cookies = cookieHeader();
    const answer = await probe(`${base}${path}`, {
      ca,
      localAddress: ip,
      method: init.method ?? "GET",
      body: init.body,
      headers: { Accept: "text/html", ...(cookies ? { Cookie: cookies } : {}), ...init.headers },
    });
    const headers = toHeaders(answer.headers);
    for (const line of headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const name = pair.slice(0, pair.indexOf("="));
      const value = pair.slice(pair.indexOf("=") + 1);
      if (value === "" || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(answer.body)?.[1];
    if (token) csrf = token;
    return {
      status: answer.status,
      html: answer.body,
      text: visibleText(answer.body),
      location: headers.get("location"),
      headers,
      body: Buffer.from(answer.body),
    };
  }

  return {
    get ip() {
      return ip;
    },
    request,
    get: (path, headers = {}) => request(path, { headers }),
    post: (path, form, headers = {}) =>
      request(path, {
        method: "POST",
        body: new URLSearchParams({ _csrf: csrf, ...form }).toString(),
        headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
      }),
    async postJson(path, body) {
      const page = await request(path, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      });
      return { ...page, json: parseJson(page.html) };
    },
    async upload(path, fields, file) {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      form.append(file.field, new Blob([new Uint8Array(file.data)], { type: file.type }), file.name);
      const encoded = new Response(form);
      return request(`${path}?_csrf=${encodeURIComponent(csrf)}`, {
        method: "POST",
        body: Buffer.from(await encoded.arrayBuffer()),
        headers: { "Content-Type": encoded.headers.get("content-type") ?? "" },
      });
    },
    cookie: (name) => jar.get(name),
    setCookie: (name, value) => void jar.set(name, value),
    cookieHeader,
    get csrf() {
      return csrf;
    },
    useInstance(url) {
      base = url;
    },
    hop() {
      ip = freshAddress();
    },
  };
}
