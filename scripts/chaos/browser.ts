/**
 * A person's browser, as far as the chaos harness needs one: HTTPS through nginx from a loopback
 * address of its own (127.x.y.z, so each person is a separate client to nginx's and the app's
 * per-address limits), a cookie jar, the forms' CSRF token, and no redirect following. People
 * sign up through the real pages and the code the mail catcher received.
 */
import { randomInt } from "node:crypto";
import { Agent, request } from "node:https";
import { codeIn, inboxMark, uniqueEmail, waitForEmail } from "../lib/mailbox.js";
import type { StackEnv } from "../lib/stack-env.js";

export type Answer = { status: number; location: string | undefined; body: string };

export type Person = {
  email: string;
  /** The loopback address this person's connections come from. */
  address: string;
  get(path: string): Promise<Answer>;
  post(path: string, form: Record<string, string>): Promise<Answer>;
  /** The Cookie header a WebSocket upgrade from this browser carries. */
  cookieHeader(): string;
};

const PASSWORD = "chaos lantern orchard velvet";
const octet = () => randomInt(1, 255);

export function openPerson(stack: StackEnv, ca: Buffer, email: string): Person {
  const address = `127.${octet()}.${octet()}.${octet()}`;
  const agent = new Agent({ keepAlive: true, localAddress: address, ca });
  const jar = new Map<string, string>();
  let csrf = "";

  function send(method: string, path: string, body?: string): Promise<Answer> {
    const headers: Record<string, string> = { Accept: "text/html" };
    if (jar.size > 0) headers.Cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    if (body !== undefined) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      headers.Origin = stack.APP_URL;
    }
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, stack.APP_URL), { method, agent, headers, timeout: 30_000 }, (res) => {
        for (const line of res.headers["set-cookie"] ?? []) {
          const [pair = ""] = line.split(";");
          const name = pair.slice(0, pair.indexOf("="));
          const value = pair.slice(pair.indexOf("=") + 1);
          if (value === "" || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
          else jar.set(name, value);
        }
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
          if (token) csrf = token;
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: text });
        });
      });
      req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  return {
    email,
    address,
    get: (path) => send("GET", path),
    post: (path, form) => send("POST", path, new URLSearchParams({ _csrf: csrf, ...form }).toString()),
    cookieHeader: () => ["__Host-duet.sid", "__Host-duet.sid.sig"].map((n) => `${n}=${jar.get(n) ?? ""}`).join("; "),
  };
}

/** Signs a new person up through /signup and the emailed code; answers their signed-in browser. */
export async function signUp(stack: StackEnv, ca: Buffer, label: string): Promise<Person> {
  const person = openPerson(stack, ca, uniqueEmail(label));
  await person.get("/signup");
  const since = await inboxMark(stack.MAIL_URL, person.email);
  const created = await person.post("/signup", { email: person.email, displayName: `${label} (chaos)`, password: PASSWORD });
  if (created.location !== "/signup/verify") throw new Error(`sign-up of ${person.email} failed: ${created.status}`);
  await person.get("/signup/verify");
  const mail = await waitForEmail(stack.MAIL_URL, person.email, { subject: /Your Duet code/, since, timeoutMs: 30_000 });
  const verified = await person.post("/signup/verify", { code: codeIn(mail) });
  if (verified.location !== "/chat?welcome=1") throw new Error(`verification of ${person.email} failed: ${verified.status}`);
  return person;
}

/** Opens the conversation between two people from the chat page; answers the room id. */
export async function startConversation(from: Person, to: Person): Promise<string> {
  await from.get("/chat");
  const started = await from.post("/chat/start", { email: to.email });
  const roomId = started.location?.replace("/chat/", "") ?? "";
  if (!/^[A-Za-z0-9_-]{22}$/.test(roomId)) throw new Error(`no conversation started: ${started.status} ${started.location}`);
  return roomId;
}
