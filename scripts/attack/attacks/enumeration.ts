/**
 * Account enumeration: learning which addresses have an account. Starting a conversation by
 * email answers it (that is the product), so past its per-user limit every lookup must be
 * refused alike (429, no room, no invitation offer). Every other form must answer an address
 * with an account exactly as one without: the email change, sign-up, password reset and sign-in.
 */
import { uniqueEmail } from "../../lib/mailbox.js";
import type { Page } from "../../../src/test/browser.js";
import { openEdgeBrowser } from "../edge.js";
import { signUp, type Person } from "../people.js";
import { tally, type Attack, type AttackContext } from "../types.js";

const LOOKUPS_PER_HOUR = 20;

/** What a page tells its reader, with the parts that differ between any two requests taken out. */
const answer = (page: Page) => normalize([page.status, page.location ?? "", page.text].join("|"));

const normalize = (text: string) =>
  text.replace(/[^\s"'=&]+(@|%40)example\.test/g, "ADDRESS").replace(/\d+ seconds/g, "N seconds");

/** The profile page's answer to the email form: where it led and the message under each field. */
const emailFormAnswer = (page: Page) =>
  normalize(
    [
      page.status,
      page.location ?? "",
      ...["email-new", "email-password"].map(
        (id) => new RegExp(`id="${id}-error" role="alert">([^<]*)<`).exec(page.html)?.[1] ?? "",
      ),
    ].join("|"),
  );

async function lookupsPastTheLimit(context: AttackContext, t: ReturnType<typeof tally>, known: Person) {
  const prober = await signUp(context.backstage, "prober");
  await prober.browser.get("/chat");
  for (let i = 0; i < LOOKUPS_PER_HOUR; i++) {
    await prober.browser.post("/chat/start", { email: i % 5 === 0 ? known.email : uniqueEmail("nobody") });
  }
  const extra = context.effort === "short" ? 4 : 20;
  for (let i = 0; i < extra; i++) {
    const email = i % 2 === 0 ? known.email : uniqueEmail("nobody");
    const res = await prober.browser.post("/chat/start", { email });
    const revealed = res.status !== 429 || /Invite them/.test(res.text) || /^\/chat\//.test(res.location ?? "");
    t.attempt(
      !revealed,
      `lookup ${LOOKUPS_PER_HOUR + i + 1} (${i % 2 === 0 ? "known" : "unknown"}) answered ${res.status} ${res.location ?? ""}`,
    );
  }
}

async function emailChangeForm(context: AttackContext, t: ReturnType<typeof tally>, taken: Person) {
  const unverified = uniqueEmail("half-made");
  await context.backstage.collection("users").insertOne({
    email: unverified,
    displayName: "Half",
    emailVerified: false,
    status: "",
    avatarVersion: 0,
  });
  const targets: Array<[string, string]> = [
    ["free", uniqueEmail("free")],
    ["taken", taken.email],
    ["taken, in capitals", taken.email.toUpperCase()],
    ...(context.effort === "full" ? ([["unverified", unverified]] as Array<[string, string]>) : []),
  ];
  const answers = new Map<string, string>();
  for (const [label, first] of targets) {
    const asker = await signUp(context.backstage, "asker");
    const pages = [
      await asker.browser.post("/profile/email", { email: first, currentPassword: asker.password }),
      await asker.browser.post("/profile/email", { email: uniqueEmail("free-second"), currentPassword: asker.password }),
      await asker.browser.post("/profile/email", { email: taken.email, currentPassword: asker.password }),
    ];
    answers.set(label, pages.map(emailFormAnswer).join("\n"));
  }
  const free = answers.get("free");
  for (const [label, seen] of answers) {
    if (label !== "free") t.attempt(seen === free, `the email-change form answers a ${label} address differently`);
  }
}

/** Sign-up, reset and sign-in forms: one answer for an address with an account and one without. */
async function otherForms(t: ReturnType<typeof tally>, taken: Person) {
  const forms: Array<[string, (email: string) => Promise<Page[]>]> = [
    [
      "sign-up",
      async (email) => {
        const b = openEdgeBrowser();
        await b.get("/signup");
        const posted = await b.post("/signup", { email, displayName: "Someone New", password: "a fresh long passphrase" });
        return [posted, await b.get("/signup/verify"), await b.post("/signup/verify", { code: "000000" })];
      },
    ],
    [
      "password reset",
      async (email) => {
        const b = openEdgeBrowser();
        await b.get("/forgot");
        return [await b.post("/forgot", { email })];
      },
    ],
    [
      "sign-in",
      async (email) => {
        const b = openEdgeBrowser();
        await b.get("/signin");
        return [await b.post("/signin", { email, password: "certainly not the password" })];
      },
    ],
  ];
  for (const [name, submit] of forms) {
    const withAccount = (await submit(taken.email)).map(answer).join("\n");
    const without = (await submit(uniqueEmail("nobody"))).map(answer).join("\n");
    t.attempt(withAccount === without, `the ${name} form answers an address with an account differently`);
  }
}

export const enumeration: Attack = {
  name: "account enumeration",
  async run(context) {
    const t = tally();
    const taken = await signUp(context.backstage, "already-here");
    await lookupsPastTheLimit(context, t, taken);
    await emailChangeForm(context, t, taken);
    await otherForms(t, taken);
    return t.outcome;
  },
};
