/** Users made the way a person makes them: through the real sign-up pages and the real email. */
import { codeIn, inboxMark, uniqueEmail, waitForEmail } from "../../scripts/lib/mailbox.js";
import { openBrowser, type TestBrowser } from "./browser.js";
import { stack } from "./stack.js";
import { isRoomId } from "../chat/rooms.js";

export const PASSWORD = "lantern orchard velvet nine";

export const instances = stack.APP_INSTANCES.split(",");

/** Signs a new user up on `base` and returns their signed-in browser. */
export async function signedUpUser(
  label = "user",
  base = instances[0] ?? "",
  password = PASSWORD,
): Promise<{ browser: TestBrowser; email: string; password: string }> {
  const email = uniqueEmail(label);
  const browser = openBrowser(base);
  await browser.get("/signup");
  const sent = await inboxMark(stack.MAIL_URL, email);
  const res = await browser.post("/signup", { email, displayName: `${label} tester`, password });
  if (res.location !== "/signup/verify") throw new Error(`sign-up failed: ${res.status} ${res.html.slice(0, 300)}`);
  await browser.get("/signup/verify");
  const mail = await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since: sent });
  const verified = await browser.post("/signup/verify", { code: codeIn(mail) });
  if (verified.location !== "/chat?welcome=1") throw new Error(`verification failed: ${verified.status}`);
  await browser.get("/profile");
  return { browser, email, password };
}

/** Opens (or finds) the conversation between `browser`'s user and `email`'s; returns the room id. */
export async function startConversation(browser: TestBrowser, email: string): Promise<string> {
  await browser.get("/chat");
  const started = await browser.post("/chat/start", { email });
  const roomId = started.location?.replace("/chat/", "") ?? "";
  if (!isRoomId(roomId)) throw new Error(`no conversation started: ${started.status} ${started.location}`);
  return roomId;
}
