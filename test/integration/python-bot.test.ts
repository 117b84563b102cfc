import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { before, describe, test } from 'node:test';
import { createClient, type MessageView, type ParleyClient } from '@parley/client';
import { atEnd, isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { eventually } from '../support/sockets.js';

/** Debian's interpreter: where apt puts python3-socketio (scripts/services.sh installs it). */
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const password = 'correct horse battery';

interface Bot {
  process: ChildProcess;
  lines: string[];
}

function startBot(url: string, login: string, transport: string): Bot {
  const child = spawn(python, ['examples/python/bot.py', '--transport', transport], {
    env: { ...process.env, PARLEY_URL: url, BOT_LOGIN: login, BOT_PASSWORD: password },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(`stderr: ${line}`));
  atEnd(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
  return { process: child, lines };
}

let counter = 0;
function newUser(prefix: string) {
  counter += 1;
  const suffix = `${process.pid.toString(36)}${Date.now().toString(36)}${counter}`;
  return {
    username: `${prefix}_${suffix}`.slice(0, 32),
    email: `${prefix}_${suffix}@example.test`,
    password,
  };
}

// A client nobody on the project wrote (python-socketio), against a server whose CORS_ORIGINS
// lists neither it nor the server's own address; access tokens live 3 s, so the bot must renew.
describe('Python bot (python-socketio) interop', () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp(
      await isolatedEnv({ CORS_ORIGINS: 'https://elsewhere.example.test', ACCESS_TOKEN_TTL: '3s' }),
    );
  });

  for (const transport of ['websocket', 'polling'] as const) {
    test(`${transport}: joins, answers, and keeps answering across token renewals`, async () => {
      const human: ParleyClient = createClient({ baseUrl: app.url });
      atEnd(() => Promise.resolve(human.close()));
      const botUser = newUser('bot');
      const botClient = createClient({ baseUrl: app.url, autoRefresh: false });
      const bot = (await botClient.register(botUser)).user;
      botClient.close();
      await human.register(newUser('human'));
      const { conversation } = await human.api.createConversation({
        body: { participantId: bot.id },
      });

      const { lines } = startBot(app.url, botUser.username, transport);
      const saw = (prefix: string) => () => lines.some((l) => l.startsWith(prefix));
      const explain = () => Promise.resolve(`bot said: ${JSON.stringify(lines)}`);
      await eventually(saw('ready'), 15000, explain);
      assert.ok(lines.includes(`joined ${conversation.id}`), 'joined its conversation');

      const socket = human.connect({ transports: [transport] });
      await socket.whenConnected();
      const replies: MessageView[] = [];
      socket.on('message_received', ({ message }) => {
        if (message.senderId === bot.id) replies.push(message);
      });
      const ask = async (content: string) => {
        const sent = await socket.send(conversation.id, content);
        await eventually(
          () => replies.some((r) => r.clientMessageId === `re-${sent.id}`),
          10000,
          explain,
        );
        const reply = replies.find((r) => r.clientMessageId === `re-${sent.id}`);
        assert.equal(reply?.content, `echo: ${content}`);
      };
      await ask('hello bot');
      // Past two lifetimes of its first token: still connected, still answering, never expired.
      await eventually(() => lines.filter((l) => l === 'renewed').length >= 2, 15000, explain);
      await ask('still there?');
      assert.deepEqual(
        lines.filter((l) =>
          /^(auth-expired|fatal|renew-|reply-refused|join-refused|stderr)/.test(l),
        ),
        [],
      );
      socket.close();
    });
  }
});
