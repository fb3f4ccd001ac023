/** The people in the attacks, made the way anyone makes an account: the sign-up pages and the emailed code, through nginx. */
import { codeIn, inboxMark, uniqueEmail, waitForEmail } from "../lib/mailbox.js";
import { openChat, type ChatClient } from "../../src/test/chat-client.js";
import { PASSWORD } from "../../src/test/factories.js";
import { stack } from "../../src/test/support.js";
import type { Backstage } from "./backstage.js";
import { openEdgeBrowser, type EdgeBrowser } from "./edge.js";

export type Person = { browser: EdgeBrowser; email: string; password: string; id: string; name: string };

/** The sign-up form submitted in a new browser; resolves once its code email has arrived. */
export async function submitSignUp(
  form: { email: string; displayName: string; password: string },
  browser: EdgeBrowser = openEdgeBrowser(),
): Promise<{ browser: EdgeBrowser; code: string }> {
  await browser.get("/signup");
  const sent = await inboxMark(stack.MAIL_URL, form.email);
  const res = await browser.post("/signup", form);
  if (res.location !== "/signup/verify") throw new Error(`sign-up refused: ${res.status} ${res.text.slice(0, 200)}`);
  await browser.get("/signup/verify");
  const mail = await waitForEmail(stack.MAIL_URL, form.email, { subject: /Your Duet code/, since: sent });
  return { browser, code: codeIn(mail) };
}

/** A new, verified, signed-in user. */
export async function signUp(backstage: Backstage, label: string, password = PASSWORD): Promise<Person> {
  const email = uniqueEmail(`attack-${label}`);
  const name = `${label} tester`;
  const { browser, code } = await submitSignUp({ email, displayName: name, password });
  const verified = await browser.post("/signup/verify", { code });
  if (verified.location !== "/chat?welcome=1") throw new Error(`verification refused: ${verified.status}`);
  await browser.get("/profile");
  return { browser, email, password, name, id: await backstage.userId(email) };
}

/** Signs `email` in on a new browser; the browser holds a signed-in session and its CSRF token. */
export async function signIn(email: string, password: string): Promise<EdgeBrowser> {
  const browser = openEdgeBrowser();
  await browser.get("/signin");
  const res = await browser.post("/signin", { email, password });
  if (res.location !== "/profile") throw new Error(`sign-in refused: ${res.status}`);
  await browser.get("/profile");
  return browser;
}

/** The conversation between `a` and `b` (started by `a`): its room id. */
export async function roomOf(a: Person, b: Person): Promise<string> {
  await a.browser.get("/chat");
  const started = await a.browser.post("/chat/start", { email: b.email });
  const roomId = started.location?.replace("/chat/", "") ?? "";
  if (!/^[A-Za-z0-9_-]{22}$/.test(roomId)) throw new Error(`no conversation: ${started.status} ${started.location}`);
  return roomId;
}

/** A chat socket through nginx (wss on the site's address), ready for frames. */
export async function chatSocket(
  browser: EdgeBrowser | undefined,
  roomId: string,
  options: { origin?: string } = {},
): Promise<ChatClient> {
  const client = await openChat(browser, roomId, { base: stack.APP_URL, ...options });
  await client.next("ready", () => true, 10_000);
  return client;
}

/** Sends one message and waits for its acknowledgement; answers its number. */
export async function sendAcked(client: ChatClient, clientId: string, text: string): Promise<number> {
  client.send({ type: "send", clientId, text });
  return (await client.next("ack", (f) => f.clientId === clientId, 10_000)).seq;
}
