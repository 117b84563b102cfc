import { parseArgs } from 'node:util';
import { startCluster } from '../cluster/cluster.js';
import { describeExit } from '../cluster/processes.js';
import { createLogger } from '../logger.js';
import { errorMessage } from '../errors.js';
import { exitOnSignals } from '../shutdown.js';

const USAGE =
  'usage: npm run cluster -- --instances N [--port 8080] [--workers 1] [--schedulers 1]';

/**
 * `npm run cluster -- --instances 2`: the production topology on one machine. Nginx on --port
 * in front of N api processes, plus workers and schedulers; Ctrl-C or SIGTERM stops them all.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '2' },
      port: { type: 'string', default: '8080' },
      workers: { type: 'string', default: '1' },
      schedulers: { type: 'string', default: '1' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const instances = count(values.instances, 'instances', 1);
  const port = count(values.port, 'port', 1);
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info', 'cluster');
  const cluster = await startCluster({
    instances,
    port,
    workers: count(values.workers, 'workers', 0),
    schedulers: count(values.schedulers, 'schedulers', 0),
    echo: true,
    logger,
  });
  let stopping = false;
  for (const proc of [...cluster.apis, ...cluster.workers, ...cluster.schedulers, cluster.nginx]) {
    void proc.exited.then((exit) => {
      if (!stopping) logger.warn({ process: proc.name, exit: describeExit(exit) }, 'exited');
    });
  }
  process.stdout.write(
    `\nParley cluster ready: ${cluster.url}  (${instances} api, ${cluster.workers.length} worker, ` +
      `${cluster.schedulers.length} scheduler; logs in ${cluster.runDir}/logs). Ctrl-C stops it.\n\n`,
  );

  exitOnSignals(
    () => {
      stopping = true;
      return cluster.stop();
    },
    { logger, message: 'stopping the cluster' },
  );
}

function count(text: string | undefined, name: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > 65535) {
    throw new Error(`--${name} must be an integer >= ${min}, got ${String(text)}\n${USAGE}`);
  }
  return n;
}

main().catch((error: unknown) => {
  process.stderr.write(`cluster: ${errorMessage(error)}\n`);
  process.exit(1);
});
