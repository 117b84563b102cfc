import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoServerError, type Collection, type Document } from 'mongodb';
import { openTarget, type Target } from './support.js';

type TextDoc = { _id: number } & Document;
interface IndexInfo {
  name: string;
  key: Document;
  weights?: Document;
  default_language?: string;
  language_override?: string;
  textIndexVersion?: number;
}
type TextSearch = {
  $search: string;
  $language?: string;
  $caseSensitive?: boolean;
  $diacriticSensitive?: boolean;
};

/**
 * Text search semantics, written against MongoDB's documented behaviour: they run against the
 * embedded engine, and against a real server when MONGODB_URI is set.
 */
void describe('conformance: text indexes and $text', () => {
  let t: Target;
  let seq = 0;
  before(async () => {
    t = await openTarget('conf_text');
  });
  after(async () => t.close());

  /** A fresh collection with a text index on `content` (plus `options`) and these documents. */
  async function withDocs(
    contents: Array<string | Document>,
    options: Document = {},
    key: Document = { content: 'text' },
  ): Promise<Collection<TextDoc>> {
    const coll = t.db.collection<TextDoc>(`texts_${seq++}`);
    await coll.createIndex(key, options);
    const docs = contents.map((c, i) =>
      typeof c === 'string' ? { _id: i, content: c } : { _id: i, ...c },
    );
    if (docs.length > 0) await coll.insertMany(docs);
    return coll;
  }

  async function indexInfo(coll: Collection<TextDoc>, name: string): Promise<IndexInfo> {
    const infos = (await coll.listIndexes().toArray()) as IndexInfo[];
    const found = infos.find((i) => i.name === name);
    assert.ok(found, `index ${name} listed`);
    return found;
  }

  async function ids(coll: Collection<TextDoc>, search: TextSearch): Promise<number[]> {
    const docs = await coll.find({ $text: search }, { projection: { _id: 1 } }).toArray();
    return docs.map((d) => d._id).sort((a, b) => a - b);
  }

  void it('lists a text index in MongoDB format', async () => {
    const coll = await withDocs([]);
    const text = await indexInfo(coll, 'content_text');
    assert.deepEqual(text.key, { _fts: 'text', _ftsx: 1 });
    assert.deepEqual(text.weights, { content: 1 });
    assert.equal(text.default_language, 'english');
    assert.equal(text.language_override, 'language');
    assert.equal(text.textIndexVersion, 3);
  });

  void it('refuses $text on a collection without a text index', async () => {
    const coll = t.db.collection(`texts_${seq++}`);
    await coll.insertOne({ content: 'coffee' });
    const err = await coll
      .find({ $text: { $search: 'coffee' } })
      .toArray()
      .catch((e: unknown) => e);
    assert.ok(err instanceof MongoServerError);
    assert.equal(err.code, 27);
    assert.match(err.message, /text index required/);
  });

  void it('allows one text index per collection', async () => {
    const coll = await withDocs(['x']);
    const err = await coll.createIndex({ title: 'text' }).catch((e: unknown) => e);
    assert.ok(err instanceof MongoServerError);
    assert.equal(err.code, 85);
    assert.equal(await coll.createIndex({ content: 'text' }), 'content_text');
  });

  void it('matches any term, folding case and stemming English', async () => {
    const coll = await withDocs([
      'Coffee shop',
      'the shops are closed',
      'tea and cake',
      'They were running late',
      'nothing here',
    ]);
    assert.deepEqual(await ids(coll, { $search: 'COFFEE cake' }), [0, 2]);
    assert.deepEqual(await ids(coll, { $search: 'shop' }), [0, 1]);
    assert.deepEqual(await ids(coll, { $search: 'runs' }), [3]);
    assert.deepEqual(await ids(coll, { $search: 'the were' }), [], 'stop words match nothing');
  });

  void it('excludes negated terms and requires every phrase', async () => {
    const coll = await withDocs([
      'coffee shop on the corner',
      'coffee and cake',
      'a shop that sells coffee',
      'cake shop',
    ]);
    assert.deepEqual(await ids(coll, { $search: 'coffee -shop' }), [1]);
    assert.deepEqual(await ids(coll, { $search: '"coffee shop"' }), [0]);
    assert.deepEqual(await ids(coll, { $search: '"coffee" "shop"' }), [0, 2]);
    assert.deepEqual(await ids(coll, { $search: 'cake "coffee shop"' }), [0]);
    assert.deepEqual(await ids(coll, { $search: 'coffee -"coffee shop"' }), [1, 2]);
    assert.deepEqual(await ids(coll, { $search: '-coffee' }), [], 'only negations match nothing');
  });

  void it('folds diacritics unless $diacriticSensitive, case unless $caseSensitive', async () => {
    const coll = await withDocs(['Café au lait', 'cafe noir', 'Şeker', 'COFFEE']);
    assert.deepEqual(await ids(coll, { $search: 'cafe' }), [0, 1]);
    assert.deepEqual(await ids(coll, { $search: 'café', $diacriticSensitive: true }), [0]);
    assert.deepEqual(await ids(coll, { $search: 'cafe', $diacriticSensitive: true }), [1]);
    assert.deepEqual(await ids(coll, { $search: 'seker' }), [2]);
    assert.deepEqual(await ids(coll, { $search: '"café noir"' }), [1], 'phrases fold too');
    assert.deepEqual(await ids(coll, { $search: '"CAFE AU"' }), [0]);
    assert.deepEqual(await ids(coll, { $search: 'coffee', $caseSensitive: true }), []);
    assert.deepEqual(await ids(coll, { $search: 'COFFEE', $caseSensitive: true }), [3]);
    assert.deepEqual(await ids(coll, { $search: 'Café', $caseSensitive: true }), [0]);
  });

  void it('scores with textScore and sorts by it', async () => {
    const coll = await withDocs(['shop', 'tea shop', 'shop shop', 'big old tea shop']);
    const docs = await coll
      .find(
        { $text: { $search: 'shop' } },
        { projection: { _id: 1, score: { $meta: 'textScore' } } },
      )
      .sort({ score: { $meta: 'textScore' } })
      .toArray();
    assert.deepEqual(
      docs.map((d) => d._id),
      [2, 0, 1, 3],
    );
    const score = new Map(docs.map((d) => [d._id, d.score as number]));
    assert.equal(score.get(0), 1.1, 'a value that is exactly the term gets a 10% bonus');
    assert.equal(score.get(1), 0.75);
    assert.equal(score.get(2), 1.5);
    assert.equal(score.get(3), 0.625);
  });

  void it('applies weights across the fields of a compound text index', async () => {
    const coll = await withDocs(
      [
        { title: 'Coffee', body: 'about tea' },
        { title: 'Tea', body: 'about coffee' },
      ],
      { weights: { title: 10 }, name: 'title_body' },
      { title: 'text', body: 'text' },
    );
    const info = await indexInfo(coll, 'title_body');
    assert.deepEqual(info.weights, { body: 1, title: 10 });
    const docs = await coll
      .find({ $text: { $search: 'coffee' } }, { projection: { score: { $meta: 'textScore' } } })
      .sort({ score: { $meta: 'textScore' } })
      .toArray();
    assert.deepEqual(
      docs.map((d) => d._id),
      [0, 1],
    );
    assert.ok((docs[0]?.score as number) > (docs[1]?.score as number) * 5);
  });

  void it('stems Turkish with default_language turkish and folds its letters', async () => {
    const coll = await withDocs(
      ['kitaplar masada', "İstanbul'da yaşıyorum", 'şehirler', 'bir ev'],
      { default_language: 'turkish' },
    );
    assert.deepEqual(await ids(coll, { $search: 'kitap' }), [0]);
    assert.deepEqual(await ids(coll, { $search: 'İSTANBUL' }), [1]);
    assert.deepEqual(await ids(coll, { $search: 'istanbul' }), [1]);
    assert.deepEqual(await ids(coll, { $search: 'şehir' }), [2]);
    assert.deepEqual(await ids(coll, { $search: 'bir' }), [], '"bir" is a Turkish stop word');
  });

  void it('honours language none, language_override and $language', async () => {
    const coll = await withDocs(['the running dog', { content: 'running', language: 'none' }]);
    assert.deepEqual(await ids(coll, { $search: 'run' }), [0]);
    assert.deepEqual(await ids(coll, { $search: 'running', $language: 'none' }), [1]);
    const none = await withDocs(['the running dog'], { default_language: 'none' });
    assert.deepEqual(await ids(none, { $search: 'the' }), [0], 'none keeps stop words');
    assert.deepEqual(await ids(none, { $search: 'run' }), [], 'none does not stem');
    const err = await none
      .find({ $text: { $search: 'dog', $language: 'klingon' } })
      .toArray()
      .catch((e: unknown) => e);
    assert.ok(err instanceof MongoServerError);
    const klingon = await none
      .insertOne({ _id: 9, content: 'Qapla', language: 'klingon' })
      .catch((e: unknown) => e);
    assert.ok(klingon instanceof MongoServerError, 'an unsupported language_override is refused');
    assert.equal(await none.countDocuments({ _id: 9 }), 0);
    const bad = await t.db
      .collection(`texts_${seq++}`)
      .createIndex({ content: 'text' }, { default_language: 'klingon' })
      .catch((e: unknown) => e);
    assert.ok(bad instanceof MongoServerError);
  });

  void it('scores the same whether built over existing documents or kept on insert', async () => {
    const docs: TextDoc[] = [
      { _id: 1, title: 'Coffee', body: ['coffee beans', 'more coffee'] },
      { _id: 2, title: 'tea time', body: 'no coffee here, coffee there' },
      { _id: 3, title: 'running', body: 'running coffee', language: 'none' },
      { _id: 4, title: 'nothing', body: 'at all' },
    ];
    const key = { title: 'text', body: 'text' } as const;
    const before = t.db.collection<TextDoc>(`texts_${seq++}`);
    await before.createIndex(key, { weights: { title: 3 } });
    await before.insertMany(docs);
    const after = t.db.collection<TextDoc>(`texts_${seq++}`);
    await after.insertMany(docs);
    await after.createIndex(key, { weights: { title: 3 } });
    const scored = async (coll: Collection<TextDoc>, search: string) =>
      (
        await coll
          .find({ $text: { $search: search } }, { projection: { score: { $meta: 'textScore' } } })
          .toArray()
      )
        .map((d) => [d._id, d.score as number])
        .sort((a, b) => (a[0] as number) - (b[0] as number));
    for (const search of ['coffee', 'running tea', 'beans nothing']) {
      const expected = await scored(before, search);
      assert.ok(expected.length > 0, search);
      assert.deepEqual(await scored(after, search), expected, search);
    }
  });

  void it('keeps the index up to date on update and delete', async () => {
    const coll = await withDocs(['first coffee', 'second tea']);
    await coll.updateOne({ _id: 0 }, { $set: { content: 'now juice' } });
    await coll.updateOne({ _id: 1 }, { $set: { other: 1 } });
    assert.deepEqual(await ids(coll, { $search: 'coffee' }), []);
    assert.deepEqual(await ids(coll, { $search: 'juice tea' }), [0, 1]);
    const found = await coll.findOne({ $text: { $search: 'tea' } });
    assert.equal(found?.other, 1, 'returns the updated document');
    await coll.deleteOne({ $text: { $search: 'juice' } });
    assert.deepEqual(await ids(coll, { $search: 'juice tea' }), [1]);
    await coll.insertOne({ _id: 7, content: 'more juice' });
    assert.deepEqual(await ids(coll, { $search: 'juice' }), [7]);
  });

  void it('follows updates of a text field by its path, its parent or the language', async () => {
    const key = { title: 'text', 'body.text': 'text' };
    const coll = await withDocs(
      [
        { title: 'alpha', body: { text: 'bravo' }, n: 0 },
        { title: 'charlie', body: { text: 'delta' }, n: 1 },
        { title: 'running', body: { text: 'fast' }, n: 2 },
      ],
      {},
      key,
    );
    await coll.updateOne({ _id: 0 }, { $set: { title: 'echo' } });
    assert.deepEqual(await ids(coll, { $search: 'alpha' }), []);
    assert.deepEqual(await ids(coll, { $search: 'echo' }), [0]);
    await coll.updateOne({ _id: 1 }, { $set: { body: { text: 'foxtrot' } } });
    assert.deepEqual(await ids(coll, { $search: 'delta' }), []);
    assert.deepEqual(await ids(coll, { $search: 'foxtrot' }), [1]);
    await coll.findOneAndUpdate({ _id: 0 }, { $set: { 'body.text': 'golf' } });
    assert.deepEqual(await ids(coll, { $search: 'bravo' }), []);
    assert.deepEqual(await ids(coll, { $search: 'golf' }), [0]);
    await coll.updateOne({ _id: 1 }, { $unset: { 'body.text': '' } });
    assert.deepEqual(await ids(coll, { $search: 'foxtrot' }), []);
    // The language override field decides stemming: "running" no longer matches "run".
    assert.deepEqual(await ids(coll, { $search: 'run' }), [2]);
    await coll.updateOne({ _id: 2 }, { $set: { language: 'none' } });
    assert.deepEqual(await ids(coll, { $search: 'run' }), []);
    assert.deepEqual(await ids(coll, { $search: 'running', $language: 'none' }), [2]);
    // Fields the index does not read: search still finds the documents, in their new version.
    const r = await coll.updateMany({}, { $inc: { n: 10 }, $set: { 'meta.seen': true } });
    assert.equal(r.modifiedCount, 3);
    const found = await coll
      .find({ $text: { $search: 'echo golf fast' } }, { projection: { n: 1, meta: 1 } })
      .sort({ _id: 1 })
      .toArray();
    assert.deepEqual(found, [
      { _id: 0, n: 10, meta: { seen: true } },
      { _id: 2, n: 12, meta: { seen: true } },
    ]);
    await coll.findOneAndUpdate({ _id: 0 }, { $unset: { meta: '' } });
    assert.equal((await coll.findOne({ $text: { $search: 'echo' } }))?.meta, undefined);
  });

  void it('a wildcard text index follows updates of any field', async () => {
    const coll = await withDocs([{ a: 'hotel', n: 0 }], {}, { '$**': 'text' });
    await coll.updateOne({ _id: 0 }, { $set: { 'b.c': 'india' }, $inc: { n: 1 } });
    assert.deepEqual(await ids(coll, { $search: 'india' }), [0]);
    await coll.updateOne({ _id: 0 }, { $unset: { a: '' } });
    assert.deepEqual(await ids(coll, { $search: 'hotel' }), []);
    assert.equal((await coll.findOne({ $text: { $search: 'india' } }))?.n, 1);
  });

  void it('combines $text with other conditions, count and aggregation', async () => {
    const coll = await withDocs([
      { content: 'coffee', kind: 'a' },
      { content: 'coffee beans', kind: 'b' },
      { content: 'tea', kind: 'a' },
    ]);
    assert.deepEqual(
      (await coll.find({ $text: { $search: 'coffee' }, kind: 'a' }).toArray()).map((d) => d._id),
      [0],
    );
    assert.equal(await coll.countDocuments({ $text: { $search: 'coffee tea' } }), 3);
    const agg = await coll
      .aggregate([
        { $match: { $text: { $search: 'coffee' } } },
        { $sort: { score: { $meta: 'textScore' } } },
        { $project: { _id: 1, score: { $meta: 'textScore' } } },
      ])
      .toArray();
    assert.deepEqual(agg, [
      { _id: 0, score: 1 },
      { _id: 1, score: 0.75 },
    ]);
  });

  void it('needs equality on the prefix fields of a compound text index', async () => {
    const coll = await withDocs(
      [
        { room: 1, content: 'hello there' },
        { room: 2, content: 'hello again' },
      ],
      {},
      { room: 1, content: 'text' },
    );
    assert.deepEqual(
      (await coll.find({ room: 2, $text: { $search: 'hello' } }).toArray()).map((d) => d._id),
      [1],
    );
    const err = await coll
      .find({ $text: { $search: 'hello' } })
      .toArray()
      .catch((e: unknown) => e);
    assert.ok(err instanceof MongoServerError);
  });

  void it('refuses textScore without $text', async () => {
    const coll = await withDocs(['x']);
    const err = await coll
      .find({}, { projection: { score: { $meta: 'textScore' } } })
      .toArray()
      .catch((e: unknown) => e);
    assert.ok(err instanceof MongoServerError);
  });
});
