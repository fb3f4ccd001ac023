/**
 * People typing at a steady pace: each speaker (a tab) types `rate` messages a second, with a
 * little jitter, and every message is labelled with the scenario's current window (the fault it
 * was typed under). A fault can make a speaker paste long texts, change its pace, or hush
 * everyone for a moment.
 */
import type { Tab } from "./client.js";

export type Speaker = { tab: Tab; label: string; rate: number; paste: boolean; credit: number; count: number };

const WORDS = "the river bends north past the old mill where we met in spring and talked until the lamps came on".split(" ");
/** A long pasted text: 4,000 characters of three UTF-8 bytes each, the largest frame a message makes. */
const PASTE = "語".repeat(4000);

function textFor(speaker: Speaker): string {
  const head = `${speaker.label} #${speaker.count}`;
  if (speaker.paste) return `${head} ${PASTE}`.slice(0, 4000);
  const length = 3 + Math.floor(Math.random() * 12);
  return `${head} ${Array.from({ length }, () => WORDS[Math.floor(Math.random() * WORDS.length)]).join(" ")}`;
}

export function startConversation() {
  const speakers: Speaker[] = [];
  let window = "setup";
  let quiet = false;
  let last = Date.now();
  const ticker = setInterval(() => {
    const now = Date.now();
    const elapsed = (now - last) / 1000;
    last = now;
    if (quiet) return;
    for (const speaker of speakers) {
      speaker.credit += speaker.rate * elapsed * (0.5 + Math.random());
      if (speaker.credit < 1) continue;
      speaker.credit -= 1;
      speaker.count++;
      speaker.tab.type(textFor(speaker), window);
    }
  }, 50);

  return {
    speakers,
    /** Adds a tab that types `rate` messages a second from now on. */
    add(tab: Tab, label: string, rate: number): Speaker {
      const speaker = { tab, label, rate, paste: false, credit: Math.random(), count: 0 };
      speakers.push(speaker);
      return speaker;
    },
    speakerOf(tab: Tab): Speaker {
      const found = speakers.find((s) => s.tab === tab);
      if (!found) throw new Error("that tab is not in the conversation");
      return found;
    },
    /** The window (a fault's name) the messages typed from now on belong to. */
    get window() {
      return window;
    },
    set window(name: string) {
      window = name;
    },
    /** While quiet, nobody types. */
    set quiet(value: boolean) {
      quiet = value;
    },
    /** Types one message now in `tab` (a fault's own message), labelled like the others. */
    typeNow(speaker: Speaker, paste = false) {
      speaker.count++;
      return speaker.tab.type(textFor({ ...speaker, paste }), window);
    },
    stop() {
      clearInterval(ticker);
    },
  };
}

export type Conversation = ReturnType<typeof startConversation>;
