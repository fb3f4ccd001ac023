/**
 * Pre-sign-up takeover: someone signs up with the victim's address and a password of their own,
 * before or after the victim does, hoping the victim's emailed code finishes *their* sign-up.
 * Whatever the order, once the victim enters their code only the victim's password signs in.
 */
import { uniqueEmail } from "../../lib/mailbox.js";
import { openEdgeBrowser } from "../edge.js";
import { submitSignUp } from "../people.js";
import { tally, type Attack } from "../types.js";

const VICTIM_PASSWORD = "victim keeps this passphrase";
const ATTACKER_PASSWORD = "attacker picked this one";

async function signsIn(email: string, password: string): Promise<boolean> {
  const browser = openEdgeBrowser();
  await browser.get("/signin");
  const res = await browser.post("/signin", { email, password });
  return res.status === 302 && res.location !== "/signup/verify";
}

export const signUpTakeover: Attack = {
  name: "pre-sign-up takeover",
  async run({ effort }) {
    const t = tally();
    const rounds = effort === "short" ? 1 : 3;
    for (let round = 0; round < rounds; round++) {
      for (const attackerFirst of [false, true]) {
        const email = uniqueEmail("attack-victim");
        const victimForm = { email, displayName: "Victor Victim", password: VICTIM_PASSWORD };
        const attackerForm = { email, displayName: "Mallory", password: ATTACKER_PASSWORD };
        const first = await submitSignUp(attackerFirst ? attackerForm : victimForm);
        const second = await submitSignUp(attackerFirst ? victimForm : attackerForm);
        const victim = attackerFirst ? second : first;
        const entered = await victim.browser.post("/signup/verify", { code: victim.code });
        if (entered.location !== "/chat?welcome=1") t.note(`the victim's own code answered ${entered.status}`);
        const order = attackerFirst ? "attacker first" : "victim first";
        t.attempt(!(await signsIn(email, ATTACKER_PASSWORD)), `${order}: the attacker's password signs in to ${email}`);
        const profile = await victim.browser.get("/profile");
        t.attempt(!/Mallory/.test(profile.text), `${order}: the victim's account carries the attacker's name`);
        if (!(await signsIn(email, VICTIM_PASSWORD))) t.note(`${order}: the victim's own password does not sign in`);
      }
    }
    return t.outcome;
  },
};
