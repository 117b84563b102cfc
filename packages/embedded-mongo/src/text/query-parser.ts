/** A `$search` string split the way MongoDB reads it, words still as written. */
export interface ParsedSearch {
  /** Words outside phrases and words inside positive phrases: a match needs any one of them. */
  terms: string[];
  /** `-word`: a document containing one is excluded. */
  negatedTerms: string[];
  /** `"…"`: a document must contain every one of them (as a substring of one field value). */
  phrases: string[];
  /** `-"…"`: a document containing one is excluded. */
  negatedPhrases: string[];
}

interface Token {
  kind: 'text' | '-' | '"' | 'other';
  text: string;
  offset: number;
  /** Whitespace (or the start of the string) comes right before the token. */
  afterSpace: boolean;
}

const TOKEN = /([\p{L}\p{N}\p{M}]+)|(\s+)|([^])/gu;

function* tokens(search: string): Generator<Token> {
  let afterSpace = true;
  for (const m of search.matchAll(TOKEN)) {
    if (m[2] !== undefined) {
      afterSpace = true;
      continue;
    }
    const text = m[0];
    const kind = m[1] !== undefined ? 'text' : text === '-' || text === '"' ? text : 'other';
    yield { kind, text, offset: m.index, afterSpace };
    afterSpace = false;
  }
}

/**
 * MongoDB's `$search` grammar (fts_query_impl.cpp): a `-` right after whitespace (or at the
 * start) negates what follows until the next whitespace ("-foo-bar" negates both); quotes
 * delimit a phrase, whose words also count as terms unless the phrase is negated; an unclosed
 * quote is not a phrase (its words stay terms). Any other punctuation separates words.
 */
export function parseSearch(search: string): ParsedSearch {
  const out: ParsedSearch = { terms: [], negatedTerms: [], phrases: [], negatedPhrases: [] };
  let negating = false;
  let phraseStart = -1;
  for (const t of tokens(search)) {
    if (t.kind === 'text') {
      if (phraseStart >= 0 && negating) continue;
      if (negating && t.afterSpace) negating = false;
      (negating ? out.negatedTerms : out.terms).push(t.text);
    } else if (t.kind === '-') {
      if (phraseStart < 0 && t.afterSpace) negating = true;
    } else if (t.kind === '"') {
      if (phraseStart >= 0) {
        const phrase = search.slice(phraseStart, t.offset);
        (negating ? out.negatedPhrases : out.phrases).push(phrase);
        phraseStart = -1;
      } else {
        if (negating && t.afterSpace) negating = false;
        phraseStart = t.offset + 1;
      }
    }
  }
  return out;
}
