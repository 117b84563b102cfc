import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { errors, type AppError } from '../errors.js';

/**
 * Requests Node's HTTP parser refuses before any route sees them — headers over the size limit,
 * a malformed request line, Content-Length or chunk, a request that never finished arriving —
 * get the SPEC §7 body like every other error, instead of Node's bare status line.
 */
export function answerMalformedRequests(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Nothing to answer on a connection that is gone or already answering (the default
    // handler's own rule: a response whose headers went out cannot be followed by another).
    const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || answering?.headersSent) {
      socket.destroy();
      return;
    }
    const refusal = refusalOf(error);
    const body = JSON.stringify(refusal.toBody());
    socket.end(
      `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

function refusalOf(error: NodeJS.ErrnoException): AppError {
  if (error.code === 'HPE_HEADER_OVERFLOW') return errors.headersTooLarge();
  if (error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return errors.tooLarge();
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return errors.requestTimeout();
  return errors.badRequest('Malformed HTTP request');
}
