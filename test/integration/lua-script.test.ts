import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { luaScript } from '../../src/infra/redis.js';

describe('luaScript', () => {
  let client: Redis;
  const prefix = `t:lua:${randomUUID()}:`;

  before(() => {
    client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  });
  after(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length) await client.del(...keys);
    await client.quit();
  });

  test('a script Redis has never seen runs (EVAL after NOSCRIPT), then by its SHA1 alone', async () => {
    // A text no server has cached: the first call must take the NOSCRIPT path.
    const source = `-- ${randomUUID()}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`;
    const script = luaScript(source);
    const key = `${prefix}n`;
    const sha = createHash('sha1').update(source).digest('hex');
    assert.deepEqual(await client.script('EXISTS', sha), [0]);
    assert.equal(await script.run(client, [key], [2]), 2);
    // The fallback's EVAL left it cached: from now on only the SHA1 travels.
    assert.deepEqual(await client.script('EXISTS', sha), [1]);
    assert.equal(await script.run(client, [key], [3]), 5);
  });

  test('errors other than NOSCRIPT are thrown, not retried', async () => {
    const script = luaScript(`-- ${randomUUID()}\nreturn redis.error_reply('BOOM no')`);
    await assert.rejects(script.run(client, [], []), /BOOM no/);
  });
});
