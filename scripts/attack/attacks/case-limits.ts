/**
 * Walking around nginx's rate limit on the account endpoints by spelling: capitals, doubled or
 * dotted slashes, percent-encoding, a trailing slash or a path parameter. nginx limits the
 * endpoints case-insensitively after normalising the path, and the app answers only the exact
 * spelling: so no other spelling may ever sign in, the capitalised ones must end in 429, and the
 * exact path, with a real account's password, must be limited after nginx's burst.
 */
import { freshAddress, openEdgeBrowser } from "../edge.js";
import { signUp } from "../people.js";
import { tally, type Attack } from "../types.js";

const TRIES = 30;

type Variant = { path: string; limited: boolean; mayWork: boolean };

const VARIANTS: Variant[] = [
  { path: "/signin", limited: true, mayWork: true },
  { path: "/signin?next=/chat", limited: true, mayWork: true },
  { path: "/SIGNIN", limited: true, mayWork: false },
  { path: "/SignIn", limited: true, mayWork: false },
  { path: "/signIN", limited: true, mayWork: false },
  { path: "/SIGNUP/VERIFY", limited: true, mayWork: false },
  { path: "/Forgot", limited: true, mayWork: false },
  { path: "/RESET", limited: true, mayWork: false },
  { path: "/signin/", limited: true, mayWork: false },
  { path: "//signin", limited: true, mayWork: false },
  { path: "/./signin", limited: true, mayWork: false },
  { path: "/x/../signin", limited: true, mayWork: false },
  { path: "/%73ignin", limited: true, mayWork: false },
  { path: "/sign%49n", limited: true, mayWork: false },
  { path: "/signin;x", limited: false, mayWork: false },
  { path: "/signin%2F", limited: false, mayWork: false },
];
const SHORT = new Set(["/signin", "/SIGNIN", "/SignIn", "//signin", "/%73ignin", "/signin;x"]);

export const caseLimits: Attack = {
  name: "nginx limits by spelling",
  async run({ effort, backstage }) {
    const t = tally();
    const { email, password } = await signUp(backstage, "capitals");
    for (const variant of VARIANTS.filter((v) => effort === "full" || SHORT.has(v.path))) {
      // A visitor with a real form: a valid CSRF cookie and token, then POSTs from one fresh address.
      const address = freshAddress();
      let browser = openEdgeBrowser(address);
      await browser.get("/signin");
      const statuses: number[] = [];
      let signedIn = 0;
      for (let i = 0; i < TRIES && !statuses.includes(429); i++) {
        const res = await browser.post(variant.path, { email, password });
        statuses.push(res.status);
        if (res.status === 302 && res.location !== "/signup/verify") {
          signedIn++;
          browser = openEdgeBrowser(address); // signed out again, from the same address
          await browser.get("/signin");
        }
      }
      const summary = `${variant.path}: ${statuses.join(" ")}`;
      if (!variant.mayWork) t.attempt(signedIn === 0, `${summary}: signed in ${signedIn} times`);
      if (variant.limited) t.attempt(statuses.includes(429), `${summary}: never limited`);
      else t.note(`${summary} (${statuses.includes(429) ? "limited" : "not limited"} by nginx; the app does not answer it)`);
    }
    return t.outcome;
  },
};
