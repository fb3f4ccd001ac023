/** What most chat integration tests share: the real services, their sockets, two people in a room. */
import { after, before } from "node:test";
import { UserModel } from "../accounts/user.model.js";
import { openChat, type ChatClient } from "./chat-client.js";
import { instances, signedUpUser, startConversation } from "./factories.js";
import { connectServices, type Services } from "./support.js";
import type { TestBrowser } from "./browser.js";

export type Person = Awaited<ReturnType<typeof signedUpUser>> & { id: string };

export type ChatSuite = {
  /** The services, connected before the suite's first test. */
  readonly services: Services;
  /** Sockets terminated after the suite's last test: push every socket a test opens. */
  open: ChatClient[];
  /** Opens the room as `browser`'s user on `base`, tracks the socket and waits for "ready". */
  connect(browser: TestBrowser, roomId: string, base: string): Promise<ChatClient>;
};

/** Registers the suite's before/after hooks (call it inside `describe`). */
export function chatSuite(): ChatSuite {
  let services: Services | undefined;
  const open: ChatClient[] = [];
  before(async () => {
    services = await connectServices();
  });
  after(async () => {
    for (const client of open) client.ws.terminate();
    await services?.close();
  });
  return {
    get services() {
      if (!services) throw new Error("chatSuite: services are connected in before(); use them inside a test");
      return services;
    },
    open,
    async connect(browser, roomId, base) {
      const client = await openChat(browser, roomId, { base });
      open.push(client);
      await client.next("ready");
      return client;
    },
  };
}

async function person(label: string, base: string): Promise<Person> {
  const user = await signedUpUser(label, base);
  const id = String((await UserModel.findOne({ email: user.email }, { _id: 1 }).lean())?._id ?? "");
  if (!id) throw new Error(`no account was made for ${user.email}`);
  return { ...user, id };
}

/** Two people signed up through the pages (`label`-a on `bases[0]`, `label`-b on `bases[1]`) and their room. */
export async function twoInARoom(
  label: string,
  bases: [string, string] = [instances[0] ?? "", instances[1] ?? instances[0] ?? ""],
): Promise<{ alice: Person; bob: Person; roomId: string }> {
  const [alice, bob] = await Promise.all([person(`${label}-a`, bases[0]), person(`${label}-b`, bases[1])]);
  const roomId = await startConversation(alice.browser, bob.email);
  return { alice, bob, roomId };
}
