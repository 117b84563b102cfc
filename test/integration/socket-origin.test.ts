import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { io } from 'socket.io-client';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { registerUser, type Registered } from '../support/http.js';

type Transport = 'websocket' | 'polling';

/** Opens a socket over one transport only, with the given headers; resolves null or the refusal. */
function attempt(
  url: string,
  token: string,
  transport: Transport,
  headers: Record<string, string>,
): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = io(url, {
      auth: { token },
      transports: [transport],
      reconnection: false,
      forceNew: true,
      extraHeaders: headers,
    });
    socket.once('connect', () => {
      socket.disconnect();
      resolve(null);
    });
    socket.once('connect_error', (error) => {
      socket.disconnect();
      resolve(error.message);
    });
  });
}

// The origin policy (docs/SECURITY.md): no Origin → the token decides; the server's own origin →
// allowed; any other origin → only when CORS_ORIGINS lists it. The same on both transports.
describe('socket Origin policy', () => {
  let direct: TestApp;
  let proxied: TestApp;
  let user: Registered;
  let proxiedUser: Registered;
  const listed = 'https://listed.example.test';

  before(async () => {
    direct = await startTestApp(await isolatedEnv({ CORS_ORIGINS: listed }));
    proxied = await startTestApp(await isolatedEnv({ CORS_ORIGINS: listed, TRUST_PROXY: '1' }));
    user = await registerUser(direct.url);
    proxiedUser = await registerUser(proxied.url);
  });

  for (const transport of ['websocket', 'polling'] as const) {
    test(`${transport}: a client without Origin connects with its token alone`, async () => {
      assert.equal(await attempt(direct.url, user.accessToken, transport, {}), null);
      assert.equal(
        await attempt(direct.url, 'not-a-token', transport, {}),
        'unauthorized',
        'without Origin the token is still required',
      );
    });

    test(`${transport}: the server's own origin connects though CORS_ORIGINS does not list it`, async () => {
      const own = new URL(direct.url).origin; // http://127.0.0.1:<port>, the Host it is reached at
      assert.equal(await attempt(direct.url, user.accessToken, transport, { origin: own }), null);
      // Same host name, another port or scheme: another origin.
      const port = Number(new URL(direct.url).port);
      for (const other of [`http://127.0.0.1:${port + 1}`, `https://127.0.0.1:${port}`]) {
        assert.notEqual(
          await attempt(direct.url, user.accessToken, transport, { origin: other }),
          null,
          `${other} is not the server's origin`,
        );
      }
    });

    test(`${transport}: other origins need CORS_ORIGINS`, async () => {
      assert.equal(
        await attempt(direct.url, user.accessToken, transport, { origin: listed }),
        null,
      );
      for (const origin of ['https://evil.example.test', 'null', `${listed}.evil.test`]) {
        assert.notEqual(
          await attempt(direct.url, user.accessToken, transport, { origin }),
          null,
          `${origin} is refused`,
        );
      }
    });

    test(`${transport}: behind a trusted proxy, X-Forwarded-Host/-Proto name the own origin`, async () => {
      const forwarded = {
        origin: 'https://chat.example.test',
        'x-forwarded-host': 'chat.example.test',
        'x-forwarded-proto': 'https',
      };
      assert.equal(await attempt(proxied.url, proxiedUser.accessToken, transport, forwarded), null);
      assert.notEqual(
        await attempt(proxied.url, proxiedUser.accessToken, transport, {
          ...forwarded,
          'x-forwarded-proto': 'http',
        }),
        null,
        'the scheme is part of the origin: an https page is not the http server',
      );
      // Python's websocket-client says `http://<host>` even over wss: same host, reached by https.
      assert.equal(
        await attempt(proxied.url, proxiedUser.accessToken, transport, {
          ...forwarded,
          origin: 'http://chat.example.test',
        }),
        null,
      );
      assert.notEqual(
        await attempt(proxied.url, proxiedUser.accessToken, transport, {
          ...forwarded,
          origin: 'http://chat.example.test:8080',
        }),
        null,
        'another port is another host',
      );
      // Without TRUST_PROXY the forwarded headers are anyone's to write: ignored.
      assert.notEqual(
        await attempt(direct.url, user.accessToken, transport, forwarded),
        null,
        'X-Forwarded-Host is ignored when no proxy is trusted',
      );
    });
  }
});
