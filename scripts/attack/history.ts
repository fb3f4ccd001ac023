/** A room's stored messages as a member reads them: the history API, through nginx. */
import type { EdgeBrowser } from "./edge.js";

export type HistoryMessage = {
  seq: number;
  from: string;
  clientId: string;
  text: string;
  unreadable?: boolean;
  deleted?: boolean;
};

/** Every message of the room (up to `pages` pages of 100), oldest first; throws on any answer but 200. */
export async function roomHistory(browser: EdgeBrowser, roomId: string, pages = 20): Promise<HistoryMessage[]> {
  const all: HistoryMessage[] = [];
  let before: number | undefined;
  for (let page = 0; page < pages; page++) {
    const res = await browser.get(`/api/rooms/${roomId}/messages?limit=100${before ? `&before=${before}` : ""}`, {
      Accept: "application/json",
    });
    if (res.status !== 200) throw new Error(`history answered ${res.status}: ${res.html.slice(0, 200)}`);
    const body = JSON.parse(res.html) as { messages: HistoryMessage[]; hasMore: boolean };
    all.unshift(...body.messages);
    if (!body.hasMore || body.messages.length === 0) break;
    before = body.messages[0]?.seq;
  }
  return all;
}
