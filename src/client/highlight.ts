/**
 * Where a search query occurs in a message, case aside, as plain text parts (the page turns the
 * hits into <mark> elements and the rest into text nodes: nothing here is HTML). Lower-casing can
 * change a string's length ("İ" becomes two code units), so matching runs on a folded copy that
 * keeps, for each of its code units, the index of the character it came from.
 */
export type Part = { text: string; hit?: true };

function fold(text: string): { folded: string; from: number[] } {
  let folded = "";
  const from: number[] = [];
  for (let i = 0; i < text.length;) {
    const char = String.fromCodePoint(text.codePointAt(i) ?? 0);
    const lower = char.toLowerCase();
    folded += lower;
    for (let k = 0; k < lower.length; k++) from.push(i);
    i += char.length;
  }
  from.push(text.length);
  return { folded, from };
}

/** `text` split into hits of `query` and what lies between, in order. */
export function matchParts(text: string, query: string): Part[] {
  const needle = query.trim().toLowerCase();
  if (!needle) return [{ text }];
  const { folded, from } = fold(text);
  const parts: Part[] = [];
  let done = 0;
  for (let at = folded.indexOf(needle); at >= 0; at = folded.indexOf(needle, at + needle.length)) {
    const start = from[at] ?? text.length;
    const end = from[at + needle.length] ?? text.length;
    if (start < done) continue;
    if (start > done) parts.push({ text: text.slice(done, start) });
    parts.push({ text: text.slice(start, end), hit: true });
    done = end;
  }
  if (done < text.length) parts.push({ text: text.slice(done) });
  return parts;
}

/** A long message cut to about `max` characters around its first hit, with ellipses. */
export function snippetParts(text: string, query: string, max = 140): Part[] {
  const parts = matchParts(text, query);
  if (text.length <= max) return parts;
  let offset = 0;
  for (const part of parts) {
    if (part.hit) break;
    offset += part.text.length;
  }
  const start = Math.max(0, Math.min(offset - Math.floor(max / 3), text.length - max));
  const end = start + max;
  const out: Part[] = start > 0 ? [{ text: "…" }] : [];
  let pos = 0;
  for (const part of parts) {
    const from = Math.max(pos, start);
    const to = Math.min(pos + part.text.length, end);
    if (to > from) out.push({ text: part.text.slice(from - pos, to - pos), ...(part.hit ? { hit: true as const } : {}) });
    pos += part.text.length;
  }
  if (end < text.length) out.push({ text: "…" });
  return out;
}
