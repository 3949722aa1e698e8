// S3 lists keys in UTF-8 byte order. UTF-8 byte order is Unicode code point order; JavaScript's `<` on
// strings (and Azurite, which sorts with it) compares UTF-16 code units instead. The two orders agree
// everywhere except at the first differing position where one name has a supplementary character
// (>= U+10000, a surrogate pair D800-DFFF) and the other a BMP character in U+E000-U+FFFF: UTF-16 puts
// the supplementary character first, UTF-8 last. Whatever order the source lists in, `inUtf8Order`
// yields UTF-8 order without holding names in memory: see its comment.

/** UTF-16 code unit -> its rank in code point order, for the first differing unit of two strings. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  // E000-FFFF move below the surrogates; surrogate pairs (supplementary planes) move above them.
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** Compares two strings by their UTF-8 bytes (the order of S3 listings), without encoding them. */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const left = a.charCodeAt(index);
    const right = b.charCodeAt(index);
    if (left !== right) return codePointRank(left) - codePointRank(right);
  }
  return a.length - b.length;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function firstHighSurrogate(name: string, from: number): number {
  for (let index = from; index < name.length; index++) {
    if (isHighSurrogate(name.charCodeAt(index))) return index;
  }
  return -1;
}

interface Deferral {
  /** Names starting with `prefix` followed by a supplementary character were skipped... */
  prefix: string;
  /** ...and these are those characters, to be listed again (prefix + character) once the stream leaves `prefix`. */
  characters: Set<string>;
}

/**
 * Yields `list(prefix)` in UTF-8 byte order, whether the listing comes in UTF-16 order (Azurite) or
 * already in UTF-8 order.
 *
 * Under a given prefix P, a supplementary character at the next position sorts after every other
 * character in UTF-8, so all names "P + supplementary + ..." belong at the very end of P's names. In
 * UTF-16 order they come in the middle (before "P + U+E000..U+FFFF"). A bounded look-ahead cannot
 * fix that (a folder of emoji names can be arbitrarily large), so instead of buffering those names
 * we skip them, remember only P and which supplementary characters followed it, and once the stream
 * has left P, list each "P + character" again (recursively, for deeper positions). Memory is the
 * depth of nesting times the distinct supplementary characters seen, never the number of names;
 * the price is listing names that contain supplementary characters one extra time per nesting level.
 */
export async function* inUtf8Order<T extends { name: string }>(
  list: (prefix: string) => AsyncIterable<T>,
  prefix: string,
): AsyncGenerator<T> {
  const deferrals: Deferral[] = [];

  // Deferrals whose prefix the stream has left are complete: emit their skipped names, innermost first.
  async function* releaseDeferralsNotPrefixing(name: string | undefined): AsyncGenerator<T> {
    for (let innermost = deferrals.at(-1); innermost; innermost = deferrals.at(-1)) {
      if (name !== undefined && name.startsWith(innermost.prefix)) return;
      deferrals.pop();
      for (const character of [...innermost.characters].sort(compareUtf8)) {
        yield* inUtf8Order(list, innermost.prefix + character);
      }
    }
  }

  for await (const entry of list(prefix)) {
    yield* releaseDeferralsNotPrefixing(entry.name);
    const position = firstHighSurrogate(entry.name, prefix.length);
    if (position === -1) {
      yield entry;
      continue;
    }
    const skippedPrefix = entry.name.slice(0, position);
    const character = entry.name.slice(position, position + 2);
    const innermost = deferrals.at(-1);
    if (innermost?.prefix === skippedPrefix) innermost.characters.add(character);
    else deferrals.push({ prefix: skippedPrefix, characters: new Set([character]) });
  }
  yield* releaseDeferralsNotPrefixing(undefined);
}
