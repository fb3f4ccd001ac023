/**
 * A minimal browser for integration tests: a cookie jar, form posts with the page's CSRF token,
 * and no redirect following (tests assert where they lead). It talks to a real app instance as
 * nginx would: X-Forwarded-Proto https and a client address of its own, so per-IP limits in
 * one test never spill into another.
 */
import { randomInt } from "node:crypto";

export type Page = {
  status: number;
  html: string;
  /** The page's text as a reader sees it: tags dropped, entities decoded, spaces collapsed. */
  text: string;
  location: string | null;
  headers: Headers;
  /** The response's bytes, for downloads. */
  body: Buffer;
};

const ENTITIES: Record<string, string> = {
  "&amp;": "&",
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&#x27;": "'",
  "&#39;": "'",
  "&#x3D;": "=",
  "&#x60;": "`",
};

export function visibleText(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/g, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&(amp|lt|gt|quot|#x27|#39|#x3D|#x60);/g, (e) => ENTITIES[e] ?? e)
    .replace(/\s+/g, " ")
    .trim();
}

/** A JSON answer's fields; {} for a body that is not a JSON object (an HTML error page). */
export function parseJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch (err) {
    if (err instanceof SyntaxError) return {};
    throw err;
  }
}

export type TestBrowser = {
  readonly ip: string;
  get(path: string, headers?: Record<string, string>): Promise<Page>;
  /** Posts a form; the `_csrf` of the last page seen is added unless the form sets its own. */
  post(path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Page>;
  /** Posts a multipart form (file uploads); the CSRF token goes in the query, as the page does. */
  upload(
    path: string,
    fields: Record<string, string>,
    file: { field: string; name: string; type: string; data: Buffer },
  ): Promise<Page>;
  /** Posts JSON as the page's scripts do (CSRF token in X-CSRF-Token); `json` is the parsed answer. */
  postJson(path: string, body: unknown): Promise<Page & { json: Record<string, unknown> }>;
  cookie(name: string): string | undefined;
  setCookie(name: string, value: string): void;
  readonly csrf: string;
  /** Moves this browser to another app instance, keeping its cookies. */
  useInstance(base: string): void;
};

export function openBrowser(base: string, ip = `203.0.${randomInt(0, 255)}.${randomInt(1, 255)}`): TestBrowser {
  const jar = new Map<string, string>();
  let csrf = "";
  let origin = base;

  async function send(path: string, init: RequestInit & { headers?: Record<string, string> }): Promise<Page> {
    const cookieHeader = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(`${origin}${path}`, {
      ...init,
      redirect: "manual",
      headers: {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": ip,
        Accept: "text/html",
        ...(cookieHeader ? { Cookie: cookieHeader } : {}),
        ...init.headers,
      },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const name = pair.slice(0, pair.indexOf("="));
      const value = pair.slice(pair.indexOf("=") + 1);
      if (value === "" || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    const body = Buffer.from(await res.arrayBuffer());
    const html = body.toString("utf8");
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (token) csrf = token;
    return {
      status: res.status,
      html,
      text: visibleText(html),
      location: res.headers.get("location"),
      headers: res.headers,
      body,
    };
  }

  return {
    ip,
    get: (path, headers = {}) => send(path, { method: "GET", headers }),
    post: (path, form, headers = {}) =>
      send(path, {
        method: "POST",
        body: new URLSearchParams({ _csrf: csrf, ...form }).toString(),
        headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
      }),
    upload: (path, fields, file) => {
      const body = new FormData();
      for (const [k, v] of Object.entries(fields)) body.append(k, v);
      body.append(file.field, new Blob([new Uint8Array(file.data)], { type: file.type }), file.name);
      return send(`${path}${path.includes("?") ? "&" : "?"}_csrf=${encodeURIComponent(csrf)}`, { method: "POST", body });
    },
    postJson: async (path, body) => {
      const page = await send(path, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      });
      return { ...page, json: parseJson(page.html) };
    },
    cookie: (name) => jar.get(name),
    setCookie: (name, value) => void jar.set(name, value),
    get csrf() {
      return csrf;
    },
    useInstance(base) {
      origin = base;
    },
  };
}
