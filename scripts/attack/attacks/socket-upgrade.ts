/**
 * Opening someone's chat socket: cross-site (another Origin, or none), without a session, with a
 * forged or tampered cookie, or as a signed-in user who is not a member of the room. Every
 * upgrade must be refused before any frame (403, 401, 404), and the room's HTTP side must be the
 * same 404 to a non-member.
 */
import WebSocket from "ws";
import { stack } from "../../../src/test/support.js";
import { roomOf, signUp } from "../people.js";
import { tally, type Attack } from "../types.js";

/** The status of a raw upgrade to `path` through nginx: 101 if it opened. */
function upgradeStatus(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${stack.APP_URL.replace(/^http/, "ws")}${path}`, { headers });
    const timer = setTimeout(() => (ws.terminate(), resolve(0)), 10_000);
    ws.once("open", () => (clearTimeout(timer), ws.terminate(), resolve(101)));
    ws.once("unexpected-response", (_req, res) => (clearTimeout(timer), ws.terminate(), resolve(res.statusCode ?? 0)));
    ws.once("error", () => (clearTimeout(timer), resolve(0)));
  });
}

export const socketUpgrade: Attack = {
  name: "cross-site and foreign sockets",
  async run({ effort, backstage }) {
    const t = tally();
    const alice = await signUp(backstage, "socket-owner");
    const bob = await signUp(backstage, "socket-peer");
    const mallory = await signUp(backstage, "socket-intruder");
    const roomId = await roomOf(alice, bob);
    const path = `/ws/chat/${roomId}`;
    const site = stack.APP_URL;
    const cookie = alice.browser.cookieHeader();
    const sid = alice.browser.cookie("__Host-duet.sid") ?? "";
    const sig = alice.browser.cookie("__Host-duet.sid.sig") ?? "";
    const flipped = (s: string) => `${s.slice(0, -1)}${s.endsWith("A") ? "B" : "A"}`;

    const cases: Array<[string, string, Record<string, string>, number]> = [
      ["another site", path, { Origin: "https://evil.example", Cookie: cookie }, 403],
      ["Origin null", path, { Origin: "null", Cookie: cookie }, 403],
      ["no Origin", path, { Cookie: cookie }, 403],
      ["http: of the site", path, { Origin: site.replace("https:", "http:"), Cookie: cookie }, 403],
      ["a look-alike host", path, { Origin: `${site}.evil.example`, Cookie: cookie }, 403],
      ["the site with a path", path, { Origin: `${site}/`, Cookie: cookie }, 403],
      ["no cookie", path, { Origin: site }, 401],
      ["a forged session id", path, { Origin: site, Cookie: `__Host-duet.sid=${flipped(sid)}; __Host-duet.sid.sig=${sig}` }, 401],
      [
        "a tampered signature",
        path,
        { Origin: site, Cookie: `__Host-duet.sid=${sid}; __Host-duet.sid.sig=${flipped(sig)}` },
        401,
      ],
      ["an unsigned session id", path, { Origin: site, Cookie: `__Host-duet.sid=${sid}` }, 401],
      ["a non-member's session", path, { Origin: site, Cookie: mallory.browser.cookieHeader() }, 404],
      ["a room nobody has", `/ws/chat/${"A".repeat(22)}`, { Origin: site, Cookie: cookie }, 404],
      ["a room id of another shape", `/ws/chat/${roomId}x`, { Origin: site, Cookie: cookie }, 404],
    ];
    const repeat = effort === "short" ? 1 : 3;
    for (let r = 0; r < repeat; r++)
      for (const [what, target, headers, expected] of cases) {
        const status = await upgradeStatus(target, headers);
        t.attempt(status !== 101 && status === expected, `${what}: upgrade answered ${status}, expected ${expected}`);
      }

    await mallory.browser.get("/chat");
    for (const [method, target] of [
      ["GET", `/chat/${roomId}`],
      ["GET", `/api/rooms/${roomId}/messages`],
      ["POST", `/chat/${roomId}/block`],
      ["POST", `/chat/${roomId}/hide`],
    ] as const) {
      const res =
        method === "GET"
          ? await mallory.browser.get(target, { Accept: "application/json" })
          : await mallory.browser.post(target, {});
      t.attempt(res.status === 404, `a non-member's ${method} ${target} answered ${res.status}`);
    }
    return t.outcome;
  },
};
