/**
 * Property-based fuzzing of every form and JSON endpoint (routes.ts): generated bodies and
 * queries (bodies.ts), path parameters and CSRF placements, sent through nginx with a valid
 * session and CSRF token where the route needs one. Every answer must be below 500 and say
 * nothing internal (no stack, no error class, no path, no secret, no password hash), and a
 * request that was not a success must change nothing watched (form-state.ts). Answers that
 * refuse with a 2xx/3xx other than the form's success are counted apart, as unclear.
 */
import { createHash, randomBytes } from "node:crypto";
import fc from "fast-check";
import type { Page } from "../../../src/test/browser.js";
import { encodings, fieldsFor, formText, type Body, type Fields, type Known } from "../bodies.js";
import { openEdgeBrowser, type EdgeBrowser } from "../edge.js";
import { differences, watchedState, type Watched } from "../form-state.js";
import { roomOf, signIn, signUp, submitSignUp } from "../people.js";
import { ROUTES, type FuzzRoute } from "../routes.js";
import { tally, type Attack, type AttackContext } from "../types.js";
import { uniqueEmail } from "../../lib/mailbox.js";

/** Words and shapes that only an internal error or a secret would put in an answer. */
function leakPatterns(context: AttackContext): RegExp[] {
  const { stack } = context.backstage;
  const secrets = [
    ...stack.SESSION_SECRETS.split(","),
    ...stack.MASTER_KEYS.split(",").map((k) => k.split(":")[1] ?? ""),
    new URL(stack.REDIS_URL).password,
    new URL(stack.REDIS_ADMIN_URL).password,
  ].filter((s) => s.length >= 16);
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return [
    /\n\s+at [\w.<>$]+ \(/,
    /node_modules|\/work\/|\/dist\/|\/src\//,
    /\.(ts|js):\d+(:\d+)?/,
    /\b(Mongo\w*Error|MongooseError|CastError|ValidationError|E11000|ReplyError|ECONNREFUSED|ZodError|TypeError|RangeError|SyntaxError|ReferenceError|ERR_[A-Z_]{4,})\b/,
    /\$argon2id?\$/,
    /\[object Object\]|\bundefined\b|\bNaN\b/,
    // A validator's own wording, shown instead of the form's message.
    /Invalid input|expected \w+, received|Too (big|small): expected/,
    ...secrets.map((s) => new RegExp(escape(s))),
  ];
}

type Cast = {
  member: EdgeBrowser;
  leaver: EdgeBrowser;
  pending: EdgeBrowser;
  known: Known;
  ids: { member: string; peer: string; stranger: string };
  rooms: { own: string; foreign: string };
  leaverHandle: string;
};

const HOSTILE_SEGMENTS = [
  "A".repeat(22),
  "%2e%2e%2f%2e%2e",
  "%00",
  "x".repeat(300),
  "%E2%80%AE",
  "__proto__",
  "000000000000000000000000",
  "1",
];

function pathFor(route: FuzzRoute, cast: Cast): fc.Arbitrary<string> {
  const choices: Record<string, string[]> = {
    ":room": [cast.rooms.own, cast.rooms.own, cast.rooms.foreign, ...HOSTILE_SEGMENTS],
    ":id": [
      cast.ids.member,
      cast.ids.peer,
      cast.ids.stranger,
      cast.ids.stranger.replace(/.$/, (c) => (c === "0" ? "1" : "0")),
      ...HOSTILE_SEGMENTS,
    ],
    ":handle": [cast.leaverHandle, randomBytes(32).toString("base64url"), ...HOSTILE_SEGMENTS],
  };
  const param = /:(room|id|handle)/.exec(route.path)?.[0];
  if (!param) return fc.constant(route.path);
  return fc.constantFrom(...(choices[param] ?? [])).map((v) => route.path.replace(param, v));
}

/** Where the CSRF token goes: the header (the usual), the body, both, nowhere, or wrong. */
const csrfPlacement = fc.constantFrom("header", "header", "header", "header", "body", "none", "wrong");

type Request = { path: string; fields: Fields; body: Body; csrf: string; accept: string };

function requestFor(route: FuzzRoute, cast: Cast): fc.Arbitrary<Request> {
  return fc
    .tuple(
      pathFor(route, cast),
      fieldsFor(route.fields, cast.known),
      csrfPlacement,
      fc.constantFrom("text/html", "application/json", "*/*"),
    )
    .chain(([path, fields, csrf, accept]) => encodings(fields).map((body) => ({ path, fields, body, csrf, accept })));
}

/** Drops the session's last re-authentication, as if ten minutes had passed since it. */
async function forgetReauth(backstage: AttackContext["backstage"], cookie: string): Promise<void> {
  const key = `duet:sess:${createHash("sha256").update(decodeURIComponent(cookie)).digest("base64url")}`;
  const [raw, ttl] = await Promise.all([backstage.redis.get(key), backstage.redis.pttl(key)]);
  if (!raw || ttl <= 0) return;
  const data = JSON.parse(raw) as { reauthAt?: number };
  if (data.reauthAt === undefined) return;
  delete data.reauthAt;
  await backstage.redis.set(key, JSON.stringify(data), "PX", ttl);
}

async function browserFor(route: FuzzRoute, cast: Cast): Promise<EdgeBrowser> {
  if (route.as === "member") return cast.member;
  if (route.as === "leaver") return cast.leaver;
  if (route.as === "pending") {
    cast.pending.hop();
    return cast.pending;
  }
  const visitor = openEdgeBrowser();
  await visitor.get("/signin");
  return visitor;
}

async function send(browser: EdgeBrowser, route: FuzzRoute, req: Request): Promise<Page> {
  const headers: Record<string, string> = { Accept: req.accept };
  if (route.method === "GET") {
    const query = formText(req.fields, req.body.label.includes("brackets"));
    return browser.request(`${req.path}${query ? `?${query}` : ""}`, { headers });
  }
  const token = req.csrf === "wrong" ? `${browser.csrf.slice(0, -2)}xx` : browser.csrf;
  if (req.csrf === "header" || req.csrf === "wrong") headers["X-CSRF-Token"] = token;
  if (route.multipart) {
    const form = new FormData();
    for (const [k, v] of req.fields) form.append(k, typeof v === "string" ? v : JSON.stringify(v));
    const file = req.body.label === "form" ? TINY_PNG : Buffer.from(String(req.body.data ?? "not an image"));
    form.append("avatar", new Blob([new Uint8Array(file)], { type: "image/png" }), "a.png");
    const encoded = new Response(form);
    return browser.request(`${req.path}?_csrf=${req.csrf === "none" ? "" : encodeURIComponent(token)}`, {
      method: "POST",
      body: Buffer.from(await encoded.arrayBuffer()),
      headers: { ...headers, "Content-Type": encoded.headers.get("content-type") ?? "" },
    });
  }
  let data = req.body.data;
  if (req.csrf === "body" && req.body.label === "form" && typeof data === "string")
    data = `_csrf=${encodeURIComponent(token)}&${data}`;
  if (req.body.contentType) headers["Content-Type"] = req.body.contentType;
  return browser.request(req.path, { method: "POST", headers, body: data });
}

// A 1×1 PNG: a picture the avatar form takes.
const TINY_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

async function cast(context: AttackContext): Promise<Cast> {
  const member = await signUp(context.backstage, "form-fuzzer");
  const peer = await signUp(context.backstage, "form-peer");
  const stranger = await signUp(context.backstage, "form-stranger");
  const other = await signUp(context.backstage, "form-other");
  const leaver = await signIn(member.email, member.password);
  const { browser: pending } = await submitSignUp({
    email: uniqueEmail("form-pending"),
    displayName: "Pending Person",
    password: "pending person passphrase",
  });
  return {
    member: member.browser,
    leaver,
    pending,
    known: { email: member.email, password: member.password },
    ids: { member: member.id, peer: peer.id, stranger: stranger.id },
    rooms: { own: await roomOf(member, peer), foreign: await roomOf(stranger, other) },
    leaverHandle: createHash("sha256")
      .update(leaver.cookie("__Host-duet.sid") ?? "")
      .digest("base64url"),
  };
}

export const formFuzz: Attack = {
  name: "form and JSON fuzzing",
  async run(context) {
    const t = tally();
    const { backstage, effort, log } = context;
    const seed = Number(process.env.ATTACK_SEED ?? Date.now() % 2 ** 31);
    const perRoute = effort === "short" ? 3 : 25;
    const leaks = leakPatterns(context);
    const people = await cast(context);
    const watched: Watched = {
      userId: people.ids.member,
      roomId: people.rooms.own,
      sessionCookie: () => people.member.cookie("__Host-duet.sid") ?? "",
    };
    const unclear = new Map<string, number>();
    const statuses = new Map<number, number>();
    for (const [r, route] of ROUTES.entries()) {
      for (let i = 0; i < perRoute; i++) {
        const [req] = fc.sample(requestFor(route, people), { numRuns: 1, seed: seed + r * 1000 + i });
        if (!req) continue;
        const browser = await browserFor(route, people);
        if (route.staleReauth) await forgetReauth(backstage, people.member.cookie("__Host-duet.sid") ?? "");
        const before = await watchedState(backstage, watched);
        const page = await send(browser, route, req);
        const after = await watchedState(backstage, watched);
        statuses.set(page.status, (statuses.get(page.status) ?? 0) + 1);
        const what = `${route.method} ${req.path} ${req.body.label} csrf:${req.csrf} → ${page.status} ${page.location ?? ""} (case seed ${seed + r * 1000 + i})`;
        const sent = `${formText(req.fields)} ${String(req.body.data ?? "")}`;
        const leaked = leaks.find((p) => p.test(page.html) && !p.test(sent));
        t.attempt(page.status < 500, `${what}: a server error`);
        t.attempt(!leaked, `${what}: the answer shows ${leaked} ${page.text.slice(0, 160)}`);
        const succeeded = route.success?.(page) ?? false;
        const changed = differences(before, after);
        t.attempt(succeeded || changed.length === 0, `${what}: refused, yet changed ${changed.join(", ")}`);
        const unclearAs =
          !succeeded && route.success && page.status < 400
            ? `${route.method} ${route.path} refused with ${page.status}`
            : page.status >= 400 && /on our side/.test(page.text)
              ? `${page.status} worded as a server fault`
              : undefined;
        if (unclearAs) {
          if (!unclear.has(unclearAs)) t.note(`first ${unclearAs}: ${what}`);
          unclear.set(unclearAs, (unclear.get(unclearAs) ?? 0) + 1);
        }
        if (succeeded) {
          // Keep the fuzzer's own knowledge current, and its session alive.
          const changedPassword =
            route.path === "/profile/password" ? req.fields.find(([k]) => k === "newPassword")?.[1] : undefined;
          if (typeof changedPassword === "string") people.known.password = changedPassword;
        }
        if (!JSON.parse(after).thisSession) {
          log(`the fuzzing session ended after ${what}; signing in again`);
          people.member = await signIn(people.known.email, people.known.password);
        }
      }
    }
    t.note(
      `seed ${seed}; ${ROUTES.length} routes × ${perRoute}; answers: ${[...statuses]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s} ×${n}`)
        .join(", ")}; unclear answers: ${[...unclear].map(([k, n]) => `${k} ×${n}`).join(", ") || "none"}`,
    );
    return t.outcome;
  },
};
