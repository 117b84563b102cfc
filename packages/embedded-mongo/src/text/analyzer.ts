import { lowerCase, stripDiacritics } from './fold.js';
import type { Language } from './languages.js';

/** Runs of letters, digits and combining marks; everything else separates words. */
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

const WORD_CHAR = /^[\p{L}\p{N}\p{M}]$/u;

/** Whether the code point at `i` belongs to a word (the same set as `WORD`); ASCII fast path. */
function isWordChar(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
  return WORD_CHAR.test(String.fromCodePoint(text.codePointAt(i) as number));
}

function charLength(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
}

/** Words cached per analyzer before the cache is emptied (bounds memory on odd corpora). */
const CACHE_LIMIT = 200_000;

/** The words of a text, as written. */
export function words(text: string): string[] {
  return text.match(WORD) ?? [];
}

/**
 * Counts the words of `text` into `counts` (cleared first) under the key `key` gives each
 * (null: not counted); returns the total counted. The index build's hot path: it scans the
 * string itself, so no array or match object is made per word.
 */
export function countWords<T>(
  text: string,
  counts: Map<T, number>,
  key: (word: string) => T | null,
): number {
  counts.clear();
  let total = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    while (i < n && !isWordChar(text, i)) i += charLength(text, i);
    const start = i;
    while (i < n && isWordChar(text, i)) i += charLength(text, i);
    if (i === start) break;
    const k = key(text.slice(start, i));
    if (k === null) continue;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    total++;
  }
  return total;
}

export interface Sensitivity {
  caseSensitive: boolean;
  diacriticSensitive: boolean;
}

/**
 * Puts the case of `word` back on its lower-cased `stem`, letter by letter where they still
 * agree: "Running" → stem "run" → "Run". Works because `lowerCase` keeps one code point per
 * code point.
 */
function restoreCase(word: string, lower: string, stem: string): string {
  const original = [...word];
  const lowered = [...lower];
  const stemmed = [...stem];
  let out = '';
  for (let i = 0; i < stemmed.length; i++) {
    const c = stemmed[i] as string;
    out += lowered[i] === c && original[i] !== undefined ? original[i] : c;
  }
  return out;
}

/**
 * Turns words into index terms for one language: lower-case (Turkish rules for Turkish), drop
 * stop words, stem, strip diacritics. The stemmer sees the word with its diacritics (the
 * Turkish one needs ı, ö, ü, ş to find suffixes); the index term is diacritic-free, so
 * "Gözlükçüler" and "gozlukcu" meet at "gozlukcu". Terms are cached per distinct word, which
 * is what keeps an index build fast: a corpus repeats its words.
 */
export class Analyzer {
  private readonly terms = new Map<string, string | null>();

  constructor(readonly language: Language) {}

  /** The index term for a word, or null for a stop word. */
  term(word: string): string | null {
    let t = this.terms.get(word);
    if (t !== undefined) return t;
    const lower = lowerCase(word, this.language.turkishCase);
    t = this.language.stopWords.has(stripDiacritics(lower))
      ? null
      : stripDiacritics(this.language.stem(lower));
    if (this.terms.size >= CACHE_LIMIT) this.terms.clear();
    this.terms.set(word, t);
    return t;
  }

  /** Counts the index terms of a text into `counts` (cleared first); returns their total. */
  countTerms(text: string, counts: Map<string, number>): number {
    return countWords(text, counts, (w) => this.term(w));
  }

  /** Index terms of a text in order, stop words left out. */
  termsOf(text: string): string[] {
    const out: string[] = [];
    for (const w of words(text)) {
      const t = this.term(w);
      if (t !== null) out.push(t);
    }
    return out;
  }

  /**
   * The form compared by `$caseSensitive` / `$diacriticSensitive` searches: the stem with the
   * word's own case and/or diacritics kept. Null for a stop word.
   */
  sensitiveTerm(word: string, s: Sensitivity): string | null {
    if (!s.caseSensitive && !s.diacriticSensitive) return this.term(word);
    const lower = lowerCase(word, this.language.turkishCase);
    if (this.language.stopWords.has(stripDiacritics(lower))) return null;
    const stem = this.language.stem(lower);
    const cased = s.caseSensitive ? restoreCase(word, lower, stem) : stem;
    return s.diacriticSensitive ? cased : stripDiacritics(cased);
  }
}

const analyzers = new Map<Language, Analyzer>();

/** One shared analyzer (and term cache) per language. */
export function analyzerFor(language: Language): Analyzer {
  let a = analyzers.get(language);
  if (!a) {
    a = new Analyzer(language);
    analyzers.set(language, a);
  }
  return a;
}
