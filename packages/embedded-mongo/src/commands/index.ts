import type { CommandContext, Handler } from '../args.js';
import { MongoCommandError, toCommandError } from '../errors.js';
import type { Doc } from '../key-index.js';
import { adminCommands } from './admin.js';
import { ddlCommands } from './ddl.js';
import { findAndModifyCommands } from './find-and-modify.js';
import { readCommands } from './read.js';
import { writeCommands } from './write.js';

const handlers = new Map<string, Handler>(
  Object.entries({
    ...adminCommands,
    ...ddlCommands,
    ...readCommands,
    ...writeCommands,
    ...findAndModifyCommands,
  }),
);

/**
 * Executes one command synchronously and always returns a reply document; errors become
 * `{ ok: 0, ... }`. Because nothing here awaits, each command is atomic for other connections.
 */
export function executeCommand(ctx: Omit<CommandContext, 'name'>): Doc {
  const name = Object.keys(ctx.cmd)[0] ?? '';
  const handler = handlers.get(name);
  try {
    if (!handler) throw new MongoCommandError('CommandNotFound', `no such command: '${name}'`);
    return handler({ ...ctx, name });
  } catch (err) {
    const error = toCommandError(err);
    if (!(err instanceof MongoCommandError))
      ctx.logger.debug({ err, command: name }, 'command failed');
    return error.toReply();
  }
}
