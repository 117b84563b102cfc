/** Helpers shared by the attack tests in test/security (one file per hole, see docs/SECURITY.md). */
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { MongoClient, ObjectId } from 'mongodb';
import type { TestNames } from '../support/app.js';

/** The claims of a token we issued (no verification: the test only reads its own token). */
export function claimsOf(token: string): { sub: string; sid: string; exp: number; jti: string } {
  return jwt.decode(token) as { sub: string; sid: string; exp: number; jti: string };
}

/** Signs an access token the way an attacker holding the key would. */
export function forgeAccess(secret: string, claims: { sub: string; sid: string }): string {
  return jwt.sign({ sid: claims.sid, typ: 'access' }, secret, {
    algorithm: 'HS256',
    subject: claims.sub,
    jwtid: randomUUID(),
    expiresIn: 600,
  });
}

/** Runs `work` against the test environment's database with a connection of its own. */
export async function withDb<T>(
  env: TestNames,
  work: (db: ReturnType<MongoClient['db']>) => Promise<T>,
): Promise<T> {
  const client = new MongoClient(env.MONGODB_URI ?? '');
  await client.connect();
  try {
    return await work(client.db(env.MONGODB_DB));
  } finally {
    await client.close();
  }
}

/** What an operator does with `npm run cli -- promote`: the user's role set in the database. */
export async function promote(env: TestNames, userId: string): Promise<void> {
  await withDb(env, (db) =>
    db.collection('users').updateOne({ _id: new ObjectId(userId) }, { $set: { role: 'admin' } }),
  );
}
