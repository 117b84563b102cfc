import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The kernel's range for outgoing connections' local ports (Linux), or its usual default. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low && high) return [low, high];
  } catch {
    // Not Linux: assume the default below.
  }
  return [32768, 60999];
}

function listens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port nobody listens on, for a server a test stops and starts again on the same port.
 * Chosen below the ephemeral range: a port from `listen(0)` is one the kernel also hands to
 * outgoing connections, and while the server was down one of them took it (RabbitMQ's
 * `start_app` failed with eaddrinuse in CI).
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const top = Math.min(low, 65536) - 1;
  const bottom = Math.max(1024, top - 12_000);
  for (let tries = 0; tries < 100; tries += 1) {
    const port = bottom + Math.floor(Math.random() * (top - bottom + 1));
    if (await listens(port)) return port;
  }
  throw new Error(`no free port between ${bottom} and ${top}`);
}
