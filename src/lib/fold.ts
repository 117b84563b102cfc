/**
 * Text folding for search, done once when text is written and the same way on every query, so
 * every backend compares the same words: lower-cased (Turkish İ/I and ı both become i, so
 * `istanbul` meets `İstanbul` and `ıstanbul`), diacritics removed (NFKD, then combining marks
 * dropped: `günaydın` → `gunaydin`), and split into words (runs of letters and digits).
 */

/** Letters a reader sees as "a letter with a mark" that Unicode does not decompose. */
const BASE_LETTER: Record<string, string> = {
  ı: 'i',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ħ: 'h',
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
};
const BASE_LETTERS = new RegExp(`[${Object.keys(BASE_LETTER).join('')}]`, 'gu');
const MARKS = /\p{M}/gu;
const WORD = /[\p{L}\p{N}]+/gu;

/** Lower-cases and strips diacritics, keeping everything else as it is. */
export function foldCase(text: string): string {
  return text
    .replace(/[İI]/g, 'i')
    .toLowerCase()
    .normalize('NFKD')
    .replace(MARKS, '')
    .replace(BASE_LETTERS, (c) => BASE_LETTER[c] ?? c);
}

/** The folded words of a text, in order. */
export function foldWords(text: string): string[] {
  return foldCase(text).match(WORD) ?? [];
}

/**
 * What a message's `searchText` holds: its folded words between single spaces, with a space
 * at each end, so a whole word `w` is always the substring ` w ` (see searchPhrases).
 */
export function searchText(content: string): string {
  const words = foldWords(content);
  return words.length === 0 ? '' : ` ${words.join(' ')} `;
}

/** The distinct folded words of a query, in order (a repeated word asks for nothing more). */
export function queryWords(q: string): string[] {
  return [...new Set(foldWords(q))];
}

/** Folded, with runs of whitespace as one space and none at the ends. */
function foldSpaced(text: string): string {
  return foldCase(text).trim().split(/\s+/u).join(' ');
}

/**
 * Prefix keys for a user: the username, the whole display name and each of its
 * whitespace-separated parts, folded, so `/api/user/list?search=` walks one index with a range.
 * Punctuation stays (`o'brien`, `ali_k`): a search is folded the same way and is a prefix of one.
 */
export function userSearchKeys(username: string, displayName: string): string[] {
  const name = foldSpaced(displayName);
  return [...new Set([foldCase(username), name, ...name.split(' ')].filter((k) => k !== ''))];
}

/** A user search folded the way the keys are. */
export function userSearchPrefix(search: string): string {
  return foldSpaced(search);
}
