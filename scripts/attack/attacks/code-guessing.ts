/**
 * Guessing a sign-up code by asking for new ones: each code dies after 5 wrong tries, but a resend
 * (or a new sign-up for the address) gives a new code. Wrong codes are capped per address (10 an
 * hour), counted before the compare, across resends, sign-ups, instances and client addresses:
 * every guess past the cap must be refused unchecked, and even the right code must then wait.
 * The resend cooldown (a minute) is skipped by moving the codes' send time back, as if it passed.
 */
import { randomInt } from "node:crypto";
import { codeIn, inboxMark, uniqueEmail, waitForEmail } from "../../lib/mailbox.js";
import { stack } from "../../../src/test/support.js";
import type { Backstage } from "../backstage.js";
import type { EdgeBrowser } from "../edge.js";
import { submitSignUp } from "../people.js";
import { tally, type Attack } from "../types.js";

const CAP = 10;
const PASSWORD = "guess target passphrase";

const wrongFor = (code: string) => {
  let guess = code;
  while (guess === code) guess = String(randomInt(0, 1_000_000)).padStart(6, "0");
  return guess;
};

async function resend(backstage: Backstage, browser: EdgeBrowser, email: string): Promise<string> {
  await backstage.codesSentEarlier(email, 61_000);
  const since = await inboxMark(stack.MAIL_URL, email);
  const res = await browser.post("/signup/resend", {});
  if (res.location !== "/signup/verify?resent=1") throw new Error(`resend answered ${res.status} ${res.location}`);
  await browser.get("/signup/verify");
  return codeIn(await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since }));
}

export const codeGuessing: Attack = {
  name: "code guessing across resends",
  async run({ effort, backstage }) {
    const t = tally();
    const email = uniqueEmail("attack-guessed");
    const form = { email, displayName: "Guess Target", password: PASSWORD };
    let { browser, code } = await submitSignUp(form);
    const codes = effort === "short" ? 3 : 8;
    let guesses = 0;
    let checked = 0;
    for (let round = 0; round < codes; round++) {
      if (round > 0) {
        // Alternately a resend and a whole new sign-up for the address, from another browser.
        if (round % 2 === 1) code = await resend(backstage, browser, email);
        else ({ browser, code } = await submitSignUp(form));
      }
      for (let i = 0; i < 5; i++) {
        browser.hop(); // every guess from another client address
        const res = await browser.post("/signup/verify", { code: wrongFor(code) });
        guesses++;
        if (res.status === 422 && /isn't right|Too many wrong codes\. Ask/.test(res.text)) checked++;
        if (checked > CAP || guesses > CAP) t.attempt(res.status === 429, `wrong guess ${guesses} answered ${res.status}`);
      }
    }
    browser.hop();
    const right = await browser.post("/signup/verify", { code });
    t.attempt(
      right.status === 429,
      `the right code after ${guesses} wrong guesses answered ${right.status} ${right.location ?? ""}`,
    );
    const verified = await backstage.collection("users").countDocuments({ email, emailVerified: true });
    t.attempt(verified === 0, "the address was verified after the cap");
    t.note(`${guesses} wrong guesses, ${checked} of them checked against a code (cap ${CAP})`);
    return t.outcome;
  },
};
