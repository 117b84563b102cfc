import { idKey, isPlainObject, pathValues } from '../bson-values.js';
import { MongoCommandError } from '../errors.js';
import { KeyIndex, type Doc, type IndexSpec } from '../key-index.js';
import { analyzerFor, countWords, words, type Analyzer, type Sensitivity } from './analyzer.js';
import { foldText, lowerCase, stripDiacritics } from './fold.js';
import { InvertedIndex, type FrozenPostings, type Posting } from './inverted-index.js';
import { findLanguage, type Language } from './languages.js';
import { parseSearch, type ParsedSearch } from './query-parser.js';
import { addCountedScores } from './scoring.js';
import { unsupportedLanguage } from './text-spec.js';

/** Documents matching a `$text` query and their scores, in parallel arrays. */
export interface TextHits {
  docs: Doc[];
  scores: number[];
}

/** Receives a match and its score. */
export type TakeHit = (doc: Doc, score: number) => void;
/** A test run on a candidate before its text is checked (cheaper tests first). */
export type KeepHit = (doc: Doc, score: number) => boolean;

/** A `$text` query ready to run (`TextIndex.prepare`). */
export interface PreparedTextSearch {
  /** Every match, in index order; `keep` runs on a candidate before its text is checked. */
  all(take: TakeHit, keep?: KeepHit): void;
}

/** A parsed `$text` operator. */
export interface TextQuery extends Sensitivity {
  search: string;
  language?: string;
}

/** A string a document holds in one of the index's text fields, with the language it is in. */
interface TextValue {
  text: string;
  language: Language;
}

const WILDCARD = '$**';

function collectStrings(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, out);
  else if (isPlainObject(v)) for (const x of Object.values(v)) collectStrings(x, out);
}

/**
 * What `KeyIndex`'s keys are for a text index: one "key" per document holding its language
 * and its text values with their weights. Comparing them is cheap, so an update that leaves
 * the text alone costs no tokenising; the terms are computed when the document is added.
 */
interface TextKey {
  language: Language;
  values: Array<[string, number]>;
}
type TextKeys = [[TextKey]];

function textKeyOf(keys: unknown[][]): TextKey {
  return (keys as TextKeys)[0][0];
}

/**
 * A MongoDB text index: an inverted index from terms to documents with MongoDB's per-term
 * scores, kept up to date by `Collection` like any index (it is a `KeyIndex` whose "keys" are
 * a document's term scores). It never serves ordinary query plans (`complete` is false); `$text`
 * queries go through `search`. Non-text key fields are kept in the spec: prefix fields must be
 * matched by equality in the query, as MongoDB requires, and are then checked by the filter.
 */
export class TextIndex extends KeyIndex {
  /** Text field paths and their weights. */
  readonly weights: Array<[string, number]>;
  /** Non-text key fields before the text fields. */
  readonly prefixFields: string[];
  readonly defaultLanguage: Language;
  readonly languageOverride: string;
  /** Documents by canonical _id key; `Collection.replace` keeps the stored versions current. */
  private readonly inverted = new InvertedIndex<Doc>();
  /** Scratch term counts for one string value, reused across documents. */
  private readonly counts = new Map<string, number>();
  /** What `keysFor` reads: the text fields and the language override; undefined for `$**`. */
  private readonly textPaths: readonly string[] | undefined;

  constructor(spec: IndexSpec) {
    super(spec);
    this.weights = Object.entries(spec.weights ?? {});
    const keyFields = Object.keys(spec.key);
    this.prefixFields = keyFields.slice(0, keyFields.indexOf('_fts'));
    const language = spec.default_language ?? 'english';
    const found = findLanguage(language);
    if (!found) throw unsupportedLanguage(language);
    this.defaultLanguage = found;
    this.languageOverride = spec.language_override ?? 'language';
    const paths = this.weights.map(([path]) => path);
    this.textPaths = paths.includes(WILDCARD) ? undefined : [...paths, this.languageOverride];
  }

  protected override pathsRead(): readonly string[] | undefined {
    return this.textPaths;
  }

  override get complete(): boolean {
    return false;
  }

  /** Documents indexed. */
  get documentCount(): number {
    return this.inverted.size;
  }

  get termCount(): number {
    return this.inverted.termCount;
  }

  /** The document's language: its `language_override` field if set, else the index default. */
  languageOf(doc: Doc): Language {
    const named = doc[this.languageOverride];
    if (typeof named !== 'string') return this.defaultLanguage;
    const found = findLanguage(named);
    if (!found) {
      throw new MongoCommandError('BadValue', `language override unsupported: ${named}`);
    }
    return found;
  }

  /** The strings at a text field path (all of the document's for the wildcard `$**`). */
  private strings(doc: Doc, path: string): string[] {
    const out: string[] = [];
    if (path === WILDCARD) collectStrings(doc, out);
    else for (const v of pathValues(doc, path)) if (typeof v === 'string') out.push(v);
    return out;
  }

  private textValues(doc: Doc): TextValue[] {
    const language = this.languageOf(doc);
    return this.weights.flatMap(([path]) =>
      this.strings(doc, path).map((text) => ({ text, language })),
    );
  }

  /** Throws (before any change) when the document names a language the engine lacks. */
  override keysFor(doc: Doc): unknown[][] {
    const values: Array<[string, number]> = [];
    for (const [path, weight] of this.weights) {
      const direct = path.includes('.') ? undefined : doc[path];
      if (typeof direct === 'string') values.push([direct, weight]);
      else for (const text of this.strings(doc, path)) values.push([text, weight]);
    }
    return [[{ language: this.languageOf(doc), values }]] satisfies TextKeys;
  }

  override sameKeys(a: unknown[][], b: unknown[][]): boolean {
    const x = textKeyOf(a);
    const y = textKeyOf(b);
    if (x.language !== y.language || x.values.length !== y.values.length) return false;
    return x.values.every(([text, weight], i) => {
      const other = y.values[i] as [string, number];
      return other[0] === text && other[1] === weight;
    });
  }

  /** The document's score for each of its terms. */
  private termScores(key: TextKey): Map<string, number> {
    const analyzer = analyzerFor(key.language);
    const scores = new Map<string, number>();
    const counts = this.counts;
    for (const [text, weight] of key.values) {
      const tokens = analyzer.countTerms(text, counts);
      if (tokens > 0) addCountedScores(text, counts, tokens, weight, scores, (t) => t);
    }
    return scores;
  }

  override add(doc: Doc, keys: unknown[][] = this.keysFor(doc)): void {
    this.inverted.add(idKey(doc._id), doc, this.termScores(textKeyOf(keys)));
  }

  override remove(doc: Doc): void {
    this.inverted.remove(idKey(doc._id));
  }

  /**
   * After an update that left the text alone (or that `Collection.replace` did not check the
   * text of, as it touched no text field): search must return the new version.
   */
  replaced(doc: Doc, ik: string = idKey(doc._id)): void {
    this.inverted.update(ik, doc);
  }

  /**
   * Bulk build (createIndex, a version-1 snapshot, journal replay): documents in the default
   * language go word → posting through a cache made for this build, with no term-score map per
   * document. Documents the index already holds are removed first, before any posting is
   * cached (a removal may rewrite the postings).
   */
  override build(input: Iterable<Doc>): undefined {
    let docs = input;
    if (this.inverted.size > 0) {
      docs = [...input];
      for (const doc of docs) this.inverted.remove(idKey(doc._id));
    }
    const analyzer = analyzerFor(this.defaultLanguage);
    const postingOf = new Map<string, Posting | null>();
    const posting = (word: string): Posting | null => {
      let p = postingOf.get(word);
      if (p === undefined) {
        const term = analyzer.term(word);
        p = term === null ? null : this.inverted.posting(term);
        postingOf.set(word, p);
      }
      return p;
    };
    const termOf = (p: Posting) => p.term;
    const counts = new Map<Posting, number>();
    const scores = new Map<Posting, number>();
    for (const doc of docs) {
      if (this.languageOf(doc) !== this.defaultLanguage) {
        this.add(doc);
        continue;
      }
      scores.clear();
      for (const [path, weight] of this.weights) {
        const direct = path.includes('.') ? undefined : doc[path];
        for (const text of typeof direct === 'string' ? [direct] : this.strings(doc, path)) {
          const tokens = countWords(text, counts, posting);
          if (tokens > 0) addCountedScores(text, counts, tokens, weight, scores, termOf);
        }
      }
      this.inverted.addPostings(idKey(doc._id), doc, scores);
    }
    return undefined;
  }

  /** The postings as they are now, readable until `thaw` while writes go on (snapshots). */
  freezePostings(): FrozenPostings {
    return this.inverted.freeze();
  }

  thawPostings(): void {
    this.inverted.thaw();
  }

  /**
   * Fills an empty index from a snapshot instead of tokenising every document: `ids[n]` (the
   * canonical _id key) and `docs[n]` are document number n, and each posting lists document
   * numbers in ascending order with their scores.
   */
  loadPostings(ids: readonly string[], docs: readonly Doc[], postings: Iterable<Posting>): void {
    this.inverted.load(ids, docs, postings);
  }

  override findDuplicate(): undefined {
    return undefined;
  }

  /**
   * Documents matching a `$text` query with their text scores, in index order: any positive
   * term (from the index), every positive phrase, no negated term or phrase. With
   * `$caseSensitive` or `$diacriticSensitive`, candidates found by the folded terms are checked
   * again against the document's own words, as MongoDB does.
   */
  search(query: TextQuery): TextHits {
    const out: TextHits = { docs: [], scores: [] };
    this.prepare(query).all((doc, score) => {
      out.docs.push(doc);
      out.scores.push(score);
    });
    return out;
  }

  /**
   * A `$text` query with its postings looked up; `keep` (the rest of the caller's filter, say)
   * runs on each candidate before the text checks, which cost more.
   */
  prepare(query: TextQuery): PreparedTextSearch {
    const language =
      query.language === undefined ? this.defaultLanguage : findLanguage(query.language);
    if (!language) throw unsupportedLanguage(query.language as string);
    const analyzer = analyzerFor(language);
    const parsed = parseSearch(query.search);
    const sensitive = query.caseSensitive || query.diacriticSensitive;
    const walk = this.inverted.prepare({
      any: termsOf(analyzer, parsed.terms),
      none: sensitive ? [] : termsOf(analyzer, parsed.negatedTerms),
      all: parsed.phrases.map((p) => termsOf(analyzer, phraseWords(p, language))),
    });
    const check = this.textCheck(query, analyzer, parsed);
    const visitor = (take: TakeHit, keep?: KeepHit) => (doc: Doc, score: number) => {
      if ((!keep || keep(doc, score)) && (!check || check(doc))) take(doc, score);
    };
    return { all: (take, keep) => walk.walk(visitor(take, keep)) };
  }

  /** The test on a document's own text that phrases and sensitivity need, if any. */
  private textCheck(
    query: TextQuery,
    analyzer: Analyzer,
    parsed: ParsedSearch,
  ): ((doc: Doc) => boolean) | undefined {
    const sensitive = query.caseSensitive || query.diacriticSensitive;
    const { phrases, negatedPhrases } = parsed;
    if (!sensitive && phrases.length === 0 && negatedPhrases.length === 0) return undefined;
    const wanted = sensitive ? sensitiveTermsOf(analyzer, parsed.terms, query) : undefined;
    const unwanted = sensitive ? sensitiveTermsOf(analyzer, parsed.negatedTerms, query) : undefined;
    const wantedPhrases = phrases.map((p) => phraseTest(p, query));
    const unwantedPhrases = negatedPhrases.map((p) => phraseTest(p, query));
    return (doc) => {
      const values = this.textValues(doc);
      return (
        (!wanted || hasSensitiveTerms(values, wanted, unwanted as Set<string>, query)) &&
        wantedPhrases.every((p) => values.some((v) => p(v))) &&
        !unwantedPhrases.some((p) => values.some((v) => p(v)))
      );
    };
  }
}

const STARTS_IN_WORD = /^[\p{L}\p{N}\p{M}]/u;
const ENDS_IN_WORD = /[\p{L}\p{N}\p{M}]$/u;

/**
 * Words of a phrase that every document containing it holds as terms, so the index narrows the
 * candidates to documents holding all of them: the inner words (whole words wherever the phrase
 * occurs). Without stemming (`none`) also the first (last) word when the phrase starts (ends)
 * with a separator: `" cat "` holds the word cat, `"cat"` may be part of "concatenate". A
 * stemmer may stem a word typed without its diacritics differently, so other languages keep
 * MongoDB's plain rule.
 */
function phraseWords(phrase: string, language: Language): string[] {
  const all = words(phrase);
  if (language.name !== 'none') return all.slice(1, -1);
  const from = STARTS_IN_WORD.test(phrase) ? 1 : 0;
  const to = ENDS_IN_WORD.test(phrase) ? all.length - 1 : all.length;
  return all.slice(from, Math.max(from, to));
}

function termsOf(analyzer: Analyzer, raw: string[]): string[] {
  const out: string[] = [];
  for (const r of raw)
    for (const w of words(r)) {
      const t = analyzer.term(w);
      if (t !== null) out.push(t);
    }
  return out;
}

function sensitiveTermsOf(analyzer: Analyzer, raw: string[], s: Sensitivity): Set<string> {
  const out = new Set<string>();
  for (const r of raw)
    for (const w of words(r)) {
      const t = analyzer.sensitiveTerm(w, s);
      if (t !== null) out.add(t);
    }
  return out;
}

/** Some value holds a wanted term and none holds an unwanted one (sensitive forms). */
function hasSensitiveTerms(
  values: TextValue[],
  wanted: Set<string>,
  unwanted: Set<string>,
  s: Sensitivity,
): boolean {
  let hit = false;
  for (const v of values) {
    const analyzer = analyzerFor(v.language);
    for (const w of words(v.text)) {
      const t = analyzer.sensitiveTerm(w, s);
      if (t === null) continue;
      if (unwanted.has(t)) return false;
      if (wanted.has(t)) hit = true;
    }
  }
  return hit;
}

/**
 * MongoDB's phrase test: a substring of one value, after the same case/diacritic folding. The
 * phrase is folded once per language; folding keeps substrings, so a match after lower-casing
 * alone is a match (and spares stripping diacritics from the value).
 */
function phraseTest(phrase: string, s: Sensitivity): (v: TextValue) => boolean {
  const folded = new Map<boolean, { lower: string; full: string }>();
  const forms = (turkish: boolean) => {
    let f = folded.get(turkish);
    if (!f) {
      f = {
        lower: lowerCase(phrase, turkish),
        full: foldText(phrase, turkish, s.caseSensitive, s.diacriticSensitive),
      };
      folded.set(turkish, f);
    }
    return f;
  };
  const insensitive = !s.caseSensitive && !s.diacriticSensitive;
  return (v) => {
    const turkish = v.language.turkishCase;
    const f = forms(turkish);
    if (insensitive) {
      // Lower-casing leaves an already lower-case match in place: most texts need nothing more.
      if (v.text.includes(f.lower)) return true;
      const lower = lowerCase(v.text, turkish);
      if (lower.includes(f.lower)) return true;
      const stripped = stripDiacritics(lower);
      return (stripped !== lower || f.full !== f.lower) && stripped.includes(f.full);
    }
    return foldText(v.text, turkish, s.caseSensitive, s.diacriticSensitive).includes(f.full);
  };
}
