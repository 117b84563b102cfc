#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startEmbeddedMongo } from './index.js';
import { jsonLineLogger } from './logger.js';

/**
 * `embedded-mongo --port 27027 [--dir ./data] [--snapshot-journal-bytes N] [--log-level info]`
 * Listens on 127.0.0.1 only (the engine has no auth or TLS). Without --dir it is memory-only.
 * Prints the URI alone on stdout once listening (scripts read it); logs go to stderr.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '27017' },
      dir: { type: 'string' },
      'snapshot-journal-bytes': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be an integer between 0 and 65535, got ${values.port}`);
  }
  const snapshotBytes = values['snapshot-journal-bytes'];
  const snapshotJournalBytes = snapshotBytes === undefined ? undefined : Number(snapshotBytes);
  if (
    snapshotJournalBytes !== undefined &&
    !(Number.isInteger(snapshotJournalBytes) && snapshotJournalBytes > 0)
  ) {
    throw new Error(`--snapshot-journal-bytes must be a positive integer, got ${snapshotBytes}`);
  }
  const logger = jsonLineLogger((line) => process.stderr.write(line), values['log-level']);
  // Inline: this process runs nothing but the engine, so a worker thread would only add a
  // hop (and log forwarding) without isolating anything.
  const mongo = await startEmbeddedMongo({
    port,
    dataDir: values.dir,
    snapshotJournalBytes,
    logger,
    thread: 'inline',
  });
  process.stdout.write(`${mongo.uri}\n`);
  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'stopping');
    mongo.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`embedded-mongo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
