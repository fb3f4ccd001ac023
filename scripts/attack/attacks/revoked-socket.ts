/**
 * A revoked session's socket: the user signs out their other sessions while one of them holds
 * chat sockets open and keeps sending on them. Those sockets must close as signed out (4401),
 * and the cookie must not open a new one. Frames sent in the instant between the revocation's
 * answer and the close reaching the socket may still be stored (the close travels over Redis
 * pub/sub); one stored more than GRACE_MS after the answer means the socket outlived its session.
 */
import type { ChatClient } from "../../../src/test/chat-client.js";
import { openChat } from "../../../src/test/chat-client.js";
import { stack } from "../../../src/test/support.js";
import { roomHistory } from "../history.js";
import { chatSocket, roomOf, signIn, signUp } from "../people.js";
import { tally, type Attack } from "../types.js";

const SESSION_ENDED = 4401;
const GRACE_MS = 1000;
const CLOSE_WITHIN_MS = 10_000;

/** Sends a frame every 20 ms until the socket closes; answers each frame's send time by client id. */
function keepSending(client: ChatClient, label: string, max = 300): Map<string, number> {
  const sent = new Map<string, number>();
  const timer = setInterval(() => {
    if (client.ws.readyState !== client.ws.OPEN || sent.size >= max) return clearInterval(timer);
    const clientId = `rv-${label}-${sent.size}`;
    sent.set(clientId, Date.now());
    client.send({ type: "send", clientId, text: `from a revoked session ${clientId}` });
  }, 20);
  void client.closed.then(() => clearInterval(timer));
  return sent;
}

export const revokedSocket: Attack = {
  name: "revoked session's socket",
  async run({ effort, backstage }) {
    const t = tally();
    const rounds = effort === "short" ? 1 : 3;
    for (let round = 0; round < rounds; round++) {
      const alice = await signUp(backstage, "revoker");
      const bob = await signUp(backstage, "revoker-peer");
      const roomId = await roomOf(alice, bob);
      const laptop = await signIn(alice.email, alice.password);
      const sockets = await Promise.all([0, 1, 2].map(() => chatSocket(laptop, roomId)));
      const sent = sockets.map((s, i) => keepSending(s, `${round}-${i}`));

      const revoked = await alice.browser.post("/profile/sessions/revoke-others", {});
      const answeredAt = Date.now();
      if (revoked.status !== 302) t.note(`sign out other sessions answered ${revoked.status}`);
      for (const [i, socket] of sockets.entries()) {
        const close = await Promise.race([
          socket.closed,
          new Promise<undefined>((resolve) => setTimeout(resolve, CLOSE_WITHIN_MS)),
        ]);
        t.attempt(
          close?.code === SESSION_ENDED,
          close
            ? `socket ${i} closed with ${close.code}, not ${SESSION_ENDED}`
            : `socket ${i} still open ${CLOSE_WITHIN_MS} ms after`,
        );
        if (close) t.note(`round ${round} socket ${i}: closed ${Date.now() - answeredAt} ms after the answer (at most)`);
        socket.ws.terminate();
      }

      // The revoked cookie opens no new socket.
      const again = await openChat(laptop, roomId, { base: stack.APP_URL }).then(
        (c) => (c.ws.terminate(), 101),
        (err: { status?: number }) => err.status ?? 0,
      );
      t.attempt(again === 401, `the revoked cookie opened a socket (${again})`);

      const stored = new Map((await roomHistory(alice.browser, roomId)).map((m) => [m.clientId, m]));
      let inWindow = 0;
      for (const frames of sent)
        for (const [clientId, at] of frames) {
          if (!stored.has(clientId) || at < answeredAt) continue;
          if (at - answeredAt <= GRACE_MS) inWindow++;
          else t.attempt(false, `${clientId}, sent ${at - answeredAt} ms after the revocation, was stored`);
        }
      t.note(`round ${round}: ${inWindow} frame(s) sent within ${GRACE_MS} ms after the answer were stored`);
    }
    return t.outcome;
  },
};
