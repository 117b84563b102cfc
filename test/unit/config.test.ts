import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, parseDurationSeconds } from '../../src/config.js';

describe('config', () => {
  test('defaults give a working development setup, loudly flagged', () => {
    const config = loadConfig({});
    assert.equal(config.PORT, 3000);
    assert.equal(config.ROLE, 'all');
    assert.equal(config.ACCESS_TOKEN_TTL, 900);
    assert.equal(config.AUTO_MESSAGE_PLAN_CRON, '0 2 * * *');
    assert.equal(config.usingDevSecrets, true);
    assert.equal(Object.isFrozen(config), true);
  });

  test('the embedded engine persists to ./data/db unless told otherwise', () => {
    assert.equal(loadConfig({}).EMBEDDED_MONGO_DIR, 'data/db');
    assert.equal(loadConfig({ EMBEDDED_MONGO_DIR: '' }).EMBEDDED_MONGO_DIR, 'data/db');
    assert.equal(loadConfig({ EMBEDDED_MONGO_DIR: '/srv/db' }).EMBEDDED_MONGO_DIR, '/srv/db');
    assert.equal(loadConfig({ EMBEDDED_MONGO_DIR: ':memory:' }).EMBEDDED_MONGO_DIR, undefined);
  });

  test('each bad variable is named in the error', () => {
    assert.throws(
      () =>
        loadConfig({
          PORT: 'eighty',
          ROLE: 'boss',
          AUTO_MESSAGE_QUEUE_CRON: 'every minute',
          SCHEDULER_TZ: 'Mars/Base',
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const text = error.problems.join('\n');
        for (const name of ['PORT', 'ROLE', 'AUTO_MESSAGE_QUEUE_CRON', 'SCHEDULER_TZ'])
          assert.match(text, new RegExp(name));
        return true;
      },
    );
  });

  test('production refuses to start without real secrets', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), /JWT_ACCESS_SECRET/);
    const secret = 's'.repeat(40);
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: secret,
      JWT_REFRESH_SECRET: secret,
    });
    assert.equal(config.usingDevSecrets, false);
  });

  test('six-field cron expressions (with seconds) are accepted; lists are parsed', () => {
    const config = loadConfig({
      AUTO_MESSAGE_QUEUE_CRON: '*/5 * * * * *',
      ADMIN_EMAILS: ' A@x.test, b@x.test ,',
      CORS_ORIGINS: 'https://a.test',
    });
    assert.equal(config.AUTO_MESSAGE_QUEUE_CRON, '*/5 * * * * *');
    assert.deepEqual(config.ADMIN_EMAILS, ['a@x.test', 'b@x.test']);
    assert.deepEqual(config.CORS_ORIGINS, ['https://a.test']);
  });

  test('durations', () => {
    assert.equal(parseDurationSeconds('15m'), 900);
    assert.equal(parseDurationSeconds('30d'), 2_592_000);
    assert.equal(parseDurationSeconds('60'), 60);
    assert.throws(() => loadConfig({ ACCESS_TOKEN_TTL: '15 minutes' }), /ACCESS_TOKEN_TTL/);
  });
});
