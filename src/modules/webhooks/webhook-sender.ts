import { createHmac } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { DomainEvent } from '../../contracts/events.js';
import { isPrivateAddress, PrivateTargetError, publicOnlyLookup } from './webhook-target.js';

export const WEBHOOK_TIMEOUT_MS = 5_000;

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Why a delivery did not succeed; `permanent` ones are not worth retrying. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/**
 * One POST of the event's JSON to a webhook, signed over the exact bytes sent. A 2xx is success;
 * anything else (a redirect included: never followed) fails. 5 s for the whole exchange.
 */
export async function sendWebhook(
  target: { url: string; secret: string },
  event: DomainEvent,
  options: { allowPrivate: boolean; signal?: AbortSignal },
): Promise<number> {
  const url = new URL(target.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An address in the URL skips DNS (and so the lookup check): checked here instead.
  if (!options.allowPrivate && isIP(host) && isPrivateAddress(host))
    throw new DeliveryError(new PrivateTargetError(host, host).message, true);
  const body = JSON.stringify(event);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const timeout = AbortSignal.timeout(WEBHOOK_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        signal,
        ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup() }),
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'Parley-Webhooks/1',
          'x-parley-event': event.type,
          'x-parley-delivery': event.id,
          'x-parley-signature': signature(target.secret, body),
        },
      },
      (res: IncomingMessage) => {
        res.resume(); // the body is not read: only the status counts
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  }).catch((err: unknown) => {
    if (err instanceof PrivateTargetError) throw new DeliveryError(err.message, true);
    if (timeout.aborted) throw new DeliveryError(`no answer within ${WEBHOOK_TIMEOUT_MS} ms`);
    throw new DeliveryError(err instanceof Error ? err.message : String(err));
  });
  if (status < 200 || status > 299) throw new DeliveryError(`answered HTTP ${status}`);
  return status;
}
