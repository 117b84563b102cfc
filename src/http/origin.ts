import type { IncomingMessage } from 'node:http';

/**
 * Who may open a socket (SPEC §5; reasoning in docs/SECURITY.md). The socket's credential is the
 * access token in the handshake, never a cookie, so Origin is not what authenticates; it only
 * keeps other sites' pages from using a token they somehow hold in a visitor's browser:
 * - no `Origin` (native, server and CLI clients): allowed, the token decides;
 * - the server's own origin (the page Parley serves, whatever address it was opened at): allowed;
 * - any other origin: only if listed in CORS_ORIGINS.
 */
export function originAllowed(
  req: Pick<IncomingMessage, 'headers' | 'socket'>,
  corsOrigins: readonly string[],
  trustProxy: number,
): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (corsOrigins.includes(origin)) return true;
  const own = requestOrigin(req, trustProxy);
  const theirs = normalizedOrigin(origin);
  if (own === null || theirs === null) return false;
  if (theirs === own) return true;
  // websocket-client (Python) sends `Origin: http://<host>` even over wss: the same host reached
  // over https. No page of another site can send it, and no credential is ambient, so it passes.
  return own.startsWith('https://') && theirs === `http://${new URL(own).host}`;
}

/**
 * The origin the client addressed: scheme and Host of the request, or — behind a trusted proxy
 * (TRUST_PROXY > 0) — the proxy's X-Forwarded-Proto and X-Forwarded-Host (first value, as Express
 * reads them). Null when the host is missing or malformed.
 */
export function requestOrigin(
  req: Pick<IncomingMessage, 'headers' | 'socket'>,
  trustProxy: number,
): string | null {
  const forwarded = (name: string) => {
    const value = req.headers[name];
    const first = (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();
    return trustProxy > 0 && first ? first : undefined;
  };
  const proto = forwarded('x-forwarded-proto') ?? ('encrypted' in req.socket ? 'https' : 'http');
  const host = forwarded('x-forwarded-host') ?? req.headers.host;
  if (!host || (proto !== 'http' && proto !== 'https')) return null;
  return normalizedOrigin(`${proto}://${host}`);
}

/** `scheme://host[:port]` with the default port dropped and the host lower-cased, or null. */
function normalizedOrigin(value: string): string | null {
  try {
    const url = new URL(value);
    if (url.pathname !== '/' || url.search || url.username || url.password) return null;
    return url.origin;
  } catch {
    return null;
  }
}
