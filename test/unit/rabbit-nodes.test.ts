import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brokerNodes } from '../../src/infra/rabbit/connection.js';

test('AMQP_URL: one node keeps its credentials, vhost and heartbeat default', () => {
  const [node, ...rest] = brokerNodes('amqp://u%40x:p%2Fw@10.0.0.1:5673/my%2Fvhost', 30);
  assert.equal(rest.length, 0);
  assert.deepEqual(node, {
    protocol: 'amqp',
    hostname: '10.0.0.1',
    port: 5673,
    username: 'u@x',
    password: 'p/w',
    vhost: 'my%2Fvhost', // amqplib decodes it, as it does a string URL's path
    heartbeat: 30,
    frameMax: undefined,
    channelMax: undefined,
  });
});

test('AMQP_URL: a comma-separated cluster gives one target per node, in order', () => {
  const nodes = brokerNodes('amqp://a:5672, amqps://b?heartbeat=5&frameMax=8192,amqp://c:1', 30);
  assert.deepEqual(
    nodes.map((n) => [n.protocol, n.hostname, n.port, n.heartbeat, n.frameMax, n.username]),
    [
      ['amqp', 'a', 5672, 30, undefined, undefined],
      ['amqps', 'b', 5671, 5, 8192, undefined],
      ['amqp', 'c', 1, 30, undefined, undefined],
    ],
  );
});
