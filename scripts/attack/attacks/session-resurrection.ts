/**
 * Resurrecting a revoked session: requests in flight on a cookie load its session before it is
 * revoked and write it back after (koa-session saves the whole session), hoping to bring it back.
 * Every request here is made to write (its "last used" time is stale), half of them land after
 * the revocation. Afterwards the cookie must sign nobody in and the session must stay gone.
 */
import { createHash } from "node:crypto";
import { signIn, signUp } from "../people.js";
import { tally, type Attack } from "../types.js";

const sessionKey = (cookie: string) => `duet:sess:${createHash("sha256").update(cookie).digest("base64url")}`;

export const sessionResurrection: Attack = {
  name: "revoked session resurrection",
  async run({ effort, backstage }) {
    const t = tally();
    const rounds = effort === "short" ? 2 : 8;
    const parallel = effort === "short" ? 20 : 40;
    const owner = await signUp(backstage, "resurrect");
    for (let round = 0; round < rounds; round++) {
      const target = await signIn(owner.email, owner.password);
      const key = sessionKey(target.cookie("__Host-duet.sid") ?? "");
      const data = JSON.parse((await backstage.redis.get(key)) ?? "{}") as Record<string, unknown>;
      await backstage.redis.set(key, JSON.stringify({ ...data, seenAt: 0 }), "KEEPTTL");

      const paths = ["/profile", "/chat", "/profile?saved=1"];
      const before = Array.from({ length: parallel / 2 }, (_, i) => target.get(paths[i % paths.length] ?? "/profile"));
      const revoke = owner.browser.post("/profile/sessions/revoke-others", {});
      const during = Array.from({ length: parallel / 2 }, (_, i) => target.get(paths[i % paths.length] ?? "/profile"));
      await Promise.all([...before, revoke, ...during]);

      t.attempt((await backstage.redis.exists(key)) === 0, `round ${round}: the revoked session is back in Redis`);
      const after = await target.get("/profile");
      t.attempt(after.status === 302, `round ${round}: the revoked cookie still opens the profile (${after.status})`);
      const listed = await owner.browser.get("/profile");
      t.attempt(
        (listed.html.match(/\/revoke"/g) ?? []).length === 0,
        `round ${round}: the revoked session is still listed among the owner's sessions`,
      );
    }
    return t.outcome;
  },
};
