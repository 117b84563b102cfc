import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Analyzer, words } from '../src/text/analyzer.js';
import { foldText, lowerCase, stripDiacritics } from '../src/text/fold.js';
import { InvertedIndex, type TermHits } from '../src/text/inverted-index.js';
import { findLanguage, type Language } from '../src/text/languages.js';
import { parseSearch } from '../src/text/query-parser.js';
import { addValueScores } from '../src/text/scoring.js';

function language(name: string): Language {
  const found = findLanguage(name);
  assert.ok(found, name);
  return found;
}

const english = new Analyzer(language('english'));
const turkish = new Analyzer(language('turkish'));
const none = new Analyzer(language('none'));

void describe('text: folding', () => {
  void it('lower-cases with Turkish rules only for Turkish, one code point each', () => {
    assert.equal(lowerCase('İstanbul', false), 'istanbul');
    assert.equal(lowerCase('İstanbul', true), 'istanbul');
    assert.equal(lowerCase('ISPARTA', false), 'isparta');
    assert.equal(lowerCase('ISPARTA', true), 'ısparta');
    assert.equal(lowerCase('ŞEHİR', true), 'şehir');
    for (const w of ['İİİ', 'IıİiŞ', 'ΣΟΦΙΑ']) {
      assert.equal([...lowerCase(w, false)].length, [...w].length);
      assert.equal([...lowerCase(w, true)].length, [...w].length);
    }
  });

  void it('strips diacritics, dotless i included', () => {
    assert.equal(stripDiacritics('şçğüöı'), 'scguoi');
    assert.equal(stripDiacritics('Café naïve Łódź Ørsted'), 'Cafe naive Lodz Orsted');
    assert.equal(stripDiacritics('plain ascii'), 'plain ascii');
    assert.equal(foldText('İstanbul Şehri', true, false, false), 'istanbul sehri');
    assert.equal(foldText('İstanbul Şehri', true, true, false), 'Istanbul Sehri');
    assert.equal(foldText('İstanbul Şehri', true, false, true), 'istanbul şehri');
  });
});

void describe('text: analyzer', () => {
  void it('splits words at anything but letters, digits and marks', () => {
    assert.deepEqual(words("don't stop-me now: 42x, naïve İstanbul'da"), [
      'don',
      't',
      'stop',
      'me',
      'now',
      '42x',
      'naïve',
      'İstanbul',
      'da',
    ]);
  });

  void it('stems English with Porter2 and drops stop words', () => {
    assert.deepEqual(english.termsOf('The ponies were running generously to the skies'), [
      'poni',
      'run',
      'generous',
      'sky',
    ]);
    assert.equal(english.term('Happiness'), 'happi');
    assert.equal(english.term('THE'), null);
  });

  void it('stems Turkish before folding, so suffixes after ı/ü/ş are still found', () => {
    assert.equal(turkish.term('Gözlükçüler'), 'gozlukcu');
    assert.equal(turkish.term('kitaplarımızdan'), 'kitap');
    assert.equal(turkish.term('İstanbul'), 'istanbul');
    assert.equal(turkish.term('ISTANBUL'), 'istanbul');
    assert.equal(turkish.term('ıstanbul'), 'istanbul');
    assert.equal(turkish.term('şehirler'), 'sehir');
    assert.equal(turkish.term('için'), null);
    assert.equal(turkish.term('icin'), null);
  });

  void it('language none folds but neither stems nor drops words', () => {
    assert.deepEqual(none.termsOf('The Running Çay'), ['the', 'running', 'cay']);
  });

  void it('keeps the case and diacritics of the stem when asked', () => {
    const both = { caseSensitive: true, diacriticSensitive: true };
    assert.equal(english.sensitiveTerm('Running', { ...both, diacriticSensitive: false }), 'Run');
    assert.equal(english.sensitiveTerm('Cafés', both), 'Café');
    assert.equal(english.sensitiveTerm('Cafés', { ...both, caseSensitive: false }), 'café');
    assert.equal(turkish.sensitiveTerm('Gözlükçüler', both), 'Gözlükçü');
    assert.equal(english.sensitiveTerm('the', both), null);
  });
});

void describe('text: $search grammar', () => {
  void it('reads terms, negations and phrases as MongoDB does', () => {
    assert.deepEqual(parseSearch('coffee -shop "ice cream" -"bad taste" tea'), {
      terms: ['coffee', 'ice', 'cream', 'tea'],
      negatedTerms: ['shop'],
      phrases: ['ice cream'],
      negatedPhrases: ['bad taste'],
    });
  });

  void it('negates only after whitespace, until the next whitespace', () => {
    assert.deepEqual(parseSearch('decaf-coffee').negatedTerms, []);
    assert.deepEqual(parseSearch('-foo-bar baz').negatedTerms, ['foo', 'bar']);
    assert.deepEqual(parseSearch('- foo').negatedTerms, []);
    assert.deepEqual(parseSearch('- foo').terms, ['foo']);
  });

  void it('leaves an unclosed quote as plain terms', () => {
    assert.deepEqual(parseSearch('"open phrase'), {
      terms: ['open', 'phrase'],
      negatedTerms: [],
      phrases: [],
      negatedPhrases: [],
    });
  });
});

void describe('text: scores', () => {
  void it('follows MongoDB: halving repeats, scaled by share of the value, 10% for an exact value', () => {
    const scores = new Map<string, number>();
    addValueScores('shop', ['shop'], 1, scores);
    assert.equal(scores.get('shop'), 1.1);
    const repeated = new Map<string, number>();
    addValueScores('shop shop shop tea', ['shop', 'shop', 'shop', 'tea'], 2, repeated);
    assert.equal(repeated.get('shop'), 2 * 1.75 * (0.5 * 0.75 + 0.5));
    assert.equal(repeated.get('tea'), 2 * 1 * (0.5 * 0.25 + 0.5));
  });
});

void describe('text: inverted index', () => {
  const pairs = <V>(hits: TermHits<V>) => hits.values.map((v, i) => [v, hits.scores[i]]);

  void it('sums scores of distinct terms and forgets removed documents', () => {
    const index = new InvertedIndex<string>();
    index.add(
      'a',
      'a',
      new Map([
        ['x', 1],
        ['y', 2],
      ]),
    );
    index.add('b', 'b', new Map([['y', 3]]));
    assert.deepEqual(pairs(index.search({ any: ['x', 'y', 'y'] })), [
      ['a', 3],
      ['b', 3],
    ]);
    assert.deepEqual(pairs(index.search({ any: ['y'], none: ['x'] })), [['b', 3]]);
    index.add('a', 'a2', new Map([['z', 1]]));
    assert.equal(index.update('a', 'a3'), true);
    assert.equal(index.update('nope', 'x'), false);
    assert.deepEqual(pairs(index.search({ any: ['x', 'y'] })), [['b', 3]]);
    assert.deepEqual(pairs(index.search({ any: ['z', 'y'], all: [['z']] })), [['a3', 1]]);
    assert.equal(index.remove('b'), true);
    assert.equal(index.remove('b'), false);
    assert.deepEqual(pairs(index.search({ any: ['y'] })), []);
    assert.equal(index.size, 1);
  });

  void it('stays correct across compaction, summing densely or sparsely', () => {
    const index = new InvertedIndex<number>();
    const total = 30_000;
    for (let i = 0; i < total; i++) {
      const rare: Array<[string, number]> = i % 1000 === 2 ? [['rare', 1]] : [];
      index.add(String(i), i, new Map([[i % 2 === 0 ? 'even' : 'odd', 1], ['all', i], ...rare]));
    }
    for (let i = 0; i < total; i += 3) index.remove(String(i));
    for (let i = 1; i < total; i += 3) index.remove(String(i));
    const left = index.search({ any: ['all'] });
    assert.equal(left.values.length, total / 3);
    assert.ok(left.values.every((doc, i) => doc % 3 === 2 && left.scores[i] === doc));
    assert.equal(index.search({ any: ['even'] }).values.length, total / 6);
    assert.deepEqual(
      index.search({ any: ['rare'] }).values,
      Array.from({ length: total / 1000 }, (_, i) => i * 1000 + 2).filter((d) => d % 3 === 2),
    );
    assert.equal(index.search({ any: ['all'], none: ['even'] }).values.length, total / 6);
    assert.ok(index.termCount <= 4);
  });
});
