import { stemmer as turkishStemmer } from '@orama/stemmers/turkish';
import englishStemmer from 'wink-porter2-stemmer';
import { lowerCase, stripDiacritics } from './fold.js';

/** A text search language: how its words are stemmed and which are too common to index. */
export interface Language {
  /** MongoDB's name for it, as `default_language` and `$language` report it. */
  name: string;
  /** Turkish case rules: I ↔ ı, İ ↔ i. */
  turkishCase: boolean;
  /** Stems a lower-cased word (diacritics kept: the stemmers need them). */
  stem(word: string): string;
  /** Lower-cased, diacritic-free stop words. */
  stopWords: ReadonlySet<string>;
}

// MongoDB's English list (src/mongo/db/fts/stop_words_english.txt) without the contractions,
// which the tokenizer splits at the apostrophe anyway.
const ENGLISH_STOP_WORDS = `a about above after again against all am an and any are as at be because
been before being below between both but by cannot could did do does doing down during each few for
from further had has have having he her here hers herself him himself his how i if in into is it its
itself me more most my myself no nor not of off on once only or other ought our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who whom
why with would you your yours yourself yourselves`;

// The Snowball/Lucene Turkish list that MongoDB's stop_words_turkish.txt is based on.
const TURKISH_STOP_WORDS = `acaba altmış altı ama ancak arada aslında ayrıca bana bazı belki ben
benden beni benim beri beş bile bin bir birçok biri birkaç birkez birşey birşeyi biz bize bizden
bizi bizim böyle böylece bu buna bunda bundan bunlar bunları bunların bunu bunun burada çok çünkü da
daha dahi de defa değil diğer diye doksan dokuz dolayı dolayısıyla dört edecek eden ederek edilecek
ediliyor edilmesi ediyor eğer elli en etmesi etti ettiği ettiğini gibi göre halen hangi hatta hem
henüz hep hepsi her herhangi herkesin hiç hiçbir için iki ile ilgili ise işte itibaren itibariyle
kadar karşın katrilyon kendi kendilerine kendini kendisi kendisine kendisini kez ki kim kimden kime
kimi kimse kırk milyar milyon mu mü mı nasıl ne neden nedenle nerde nerede nereye niye niçin o olan
olarak oldu olduğu olduğunu olduklarını olmadı olmadığı olmak olması olmayan olmaz olsa olsun olup
olur olursa oluyor on ona ondan onlar onlardan onları onların onu onun otuz oysa öyle pek rağmen
sadece sanki sekiz seksen sen senden seni senin siz sizden sizi sizin şey şeyden şeyi şeyler şöyle
şu şuna şunda şundan şunları şunu tarafından trilyon tüm üç üzere var vardı ve veya ya yani yapacak
yapılan yapılması yapıyor yapmak yaptı yaptığı yaptığını yaptıkları yedi yerine yetmiş yine yirmi
yoksa yüz zaten`;

function stopList(words: string, turkish: boolean): ReadonlySet<string> {
  return new Set(
    words
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => stripDiacritics(lowerCase(w, turkish))),
  );
}

const ENGLISH: Language = {
  name: 'english',
  turkishCase: false,
  stem: englishStemmer,
  stopWords: stopList(ENGLISH_STOP_WORDS, false),
};

const TURKISH: Language = {
  name: 'turkish',
  turkishCase: true,
  stem: turkishStemmer,
  stopWords: stopList(TURKISH_STOP_WORDS, true),
};

/** MongoDB's "none": no stemming and no stop words, only case and diacritic folding. */
const NONE: Language = {
  name: 'none',
  turkishCase: false,
  stem: (word) => word,
  stopWords: new Set(),
};

/** Names and ISO 639-1 codes, as MongoDB accepts them in `default_language` and `$language`. */
const BY_NAME = new Map<string, Language>([
  ['english', ENGLISH],
  ['en', ENGLISH],
  ['turkish', TURKISH],
  ['tr', TURKISH],
  ['none', NONE],
]);

/** The language called `name`, or undefined when the engine does not support it. */
export function findLanguage(name: string): Language | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export const SUPPORTED_LANGUAGES = ['english', 'turkish', 'none'] as const;
