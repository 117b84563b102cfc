/**
 * Case and diacritic folding for text search. `lowerCase` keeps one code point per input code
 * point, so a lower-cased stem can be lined up with the original word (see `analyzer.ts`).
 */

/** Only ASCII: nothing to decompose, no special lower-casing. */
const ASCII = /^[ -~\t\n\r]*$/;
const MARKS = /\p{Mn}/gu;

/**
 * Letters that are "a letter with a diacritic" to a reader but have no Unicode decomposition,
 * so NFD leaves them alone. Dotless ı is here on purpose: people type Turkish without the
 * Turkish keyboard, and "istanbul" must find "ıstanbul" as it finds "İstanbul".
 */
const BASE_LETTER: Record<string, string> = {
  ı: 'i',
  ø: 'o',
  Ø: 'O',
  ł: 'l',
  Ł: 'L',
  đ: 'd',
  Đ: 'D',
  ħ: 'h',
  Ħ: 'H',
};
const BASE_LETTERS = new RegExp(`[${Object.keys(BASE_LETTER).join('')}]`, 'gu');

/**
 * Lower-cases a word. Turkish rules (I → ı, İ → i) apply when `turkish`; otherwise İ still
 * becomes a plain i (JavaScript's `toLowerCase` makes it i + U+0307, two code points).
 */
export function lowerCase(word: string, turkish: boolean): string {
  if (ASCII.test(word)) return turkish ? word.replace(/I/g, 'ı').toLowerCase() : word.toLowerCase();
  if (turkish) return word.toLocaleLowerCase('tr');
  return (word.includes('İ') ? word.replace(/İ/g, 'i') : word).toLowerCase();
}

/** Removes diacritics: é → e, ş → s, ğ → g, ü → u, ı → i, ø → o. */
export function stripDiacritics(word: string): string {
  if (ASCII.test(word)) return word;
  return word
    .normalize('NFD')
    .replace(MARKS, '')
    .replace(BASE_LETTERS, (c) => BASE_LETTER[c] ?? c);
}

/** Folds a whole text the way its words are folded (used for phrase matching). */
export function foldText(
  text: string,
  turkish: boolean,
  caseSensitive: boolean,
  diacriticSensitive: boolean,
): string {
  const cased = caseSensitive ? text : lowerCase(text, turkish);
  return diacriticSensitive ? cased : stripDiacritics(cased);
}
