import { connect } from 'node:net';
import { createClient, type ParleyClient } from '@parley/client';

/** A thin real-HTTP client for tests: JSON in, status + parsed JSON out. */
export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export async function http<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  options: {
    token?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let payload: string | undefined = options.rawBody;
  if (options.body !== undefined) payload = JSON.stringify(options.body);
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(baseUrl + path, { method, headers, body: payload ?? null });
  const text = await response.text();
  return {
    status: response.status,
    body: (text ? JSON.parse(text) : null) as T,
    headers: response.headers,
  };
}

export interface Registered {
  user: { id: string; username: string; email?: string; role: string };
  accessToken: string;
  refreshToken: string;
}

let counter = 0;

/** Registers a fresh user with a unique name; returns the auth result. */
export async function registerUser(
  baseUrl: string,
  overrides: Partial<{ username: string; email: string; password: string }> = {},
): Promise<Registered & { password: string }> {
  counter += 1;
  const suffix = `${process.pid.toString(36)}${Date.now().toString(36)}${counter}`;
  const input = {
    username: `u_${suffix}`.slice(0, 32),
    email: `u_${suffix}@example.test`,
    password: 'correct horse battery',
    ...overrides,
  };
  let status = 0;
  const result = await createClient({ baseUrl, autoRefresh: false }).api.register(
    { body: input },
    { onResponse: (r) => (status = r.status) },
  );
  if (status !== 201) throw new Error(`register answered ${status}, not 201`);
  return { ...result, password: input.password };
}

/**
 * The SDK acting as `who` with their access token alone: it never refreshes, so a test keeps
 * control of the refresh token's rotation (a 401 stays a 401).
 */
export async function clientAs(baseUrl: string, who: Registered): Promise<ParleyClient> {
  const client = createClient({ baseUrl, autoRefresh: false });
  await client.useAccessToken(who.accessToken);
  return client;
}

/** Opens (or finds) the direct conversation between two users; returns its id. */
export async function directConversation(
  url: string,
  from: Registered,
  to: Registered,
): Promise<string> {
  const client = await clientAs(url, from);
  const { conversation } = await client.api.createConversation({
    body: { participantId: to.user.id },
  });
  return conversation.id;
}

/** What came back for bytes written straight to the server's socket; null when nothing did. */
export interface RawHttpResult {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Writes `request` as is on a new connection (no client in between to fix it up) and reads the
 * one response until the server closes the connection.
 */
export function rawHttp(baseUrl: string, request: string): Promise<RawHttpResult | null> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request, 'latin1'));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
      if (!status) return resolve(null);
      const contentType = /\r\ncontent-type: *([^\r]*)/i.exec(head)?.[1] ?? '';
      resolve({ status: Number(status), contentType, body: rest.join('\r\n\r\n') });
    });
  });
}
