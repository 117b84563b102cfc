import { lookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

/**
 * Where a webhook may POST. With WEBHOOK_ALLOW_PRIVATE=false (production's default) every
 * address a host resolves to must be public: a hostname with one private address among public
 * ones is refused too, and the check runs in the socket's own lookup, so the address checked is
 * the address connected to (no second resolution to rebind). Redirects are never followed.
 */
export function isPrivateAddress(address: string): boolean {
  const v4 = isIP(address) === 4 ? address : /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4) {
    const [a = 0, b = 0] = v4.split('.').map(Number);
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 198 && (b === 18 || b === 19)) ||
      a >= 224
    );
  }
  const v6 = address.toLowerCase();
  return (
    v6 === '::' ||
    v6 === '::1' ||
    v6.startsWith('fc') ||
    v6.startsWith('fd') ||
    /^fe[89ab]/.test(v6) ||
    v6.startsWith('ff')
  );
}

export class PrivateTargetError extends Error {
  constructor(host: string, address: string) {
    super(`${host} resolves to ${address}, a loopback or private address`);
    this.name = 'PrivateTargetError';
  }
}

/** A `lookup` for http.request that resolves every address and refuses any private one. */
export function publicOnlyLookup(): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const bad = addresses.find((a) => isPrivateAddress(a.address));
      if (bad) return callback(new PrivateTargetError(hostname, bad.address), '', 0);
      if (options.all) return callback(null, addresses, 0);
      const first = addresses[0];
      if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/** Resolves `url`'s host now (registration), refusing any private address. */
export async function assertPublicTarget(url: string): Promise<void> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    if (isPrivateAddress(host)) throw new PrivateTargetError(host, host);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    publicOnlyLookup()(host, { all: true }, (err) => (err ? reject(err) : resolve()));
  });
}
