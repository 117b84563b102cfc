import { randomUUID } from 'node:crypto';
import {
  resolveJwtSecrets,
  type JwtSecrets,
} from '../../src/modules/settings/deployment-settings.js';
import { SettingsRepository } from '../../src/modules/settings/settings.repository.js';
import { ObjectId } from 'mongodb';
import type { Config } from '../../src/config.js';
import { connectMongo, type MongoHandles } from '../../src/infra/mongo.js';
import { connectRedis, type RedisHandles } from '../../src/infra/redis.js';
import { silentLogger } from '../../src/logger.js';
import { hashPassword } from '../../src/modules/auth/passwords.js';
import { SessionsRepository } from '../../src/modules/auth/sessions.repository.js';
import { TokenService } from '../../src/modules/auth/tokens.js';
import { AutoMessagesRepository } from '../../src/modules/automessages/automessages.repository.js';
import { ConversationsRepository } from '../../src/modules/conversations/conversations.repository.js';
import { MessagesRepository } from '../../src/modules/messages/messages.repository.js';
import { UsersRepository, newUserFields } from '../../src/modules/users/users.repository.js';

export interface BenchUser {
  userId: string;
  token: string;
}

/**
 * Test data made with Parley's own repositories and token service (what registration does,
 * minus one argon2 hash per user, which would take minutes for 10,000 users).
 */
export class Fixtures {
  private readonly users: UsersRepository;
  private readonly conversations: ConversationsRepository;
  private readonly messages: MessagesRepository;
  private readonly autos: AutoMessagesRepository;
  private readonly sessions: SessionsRepository;
  private readonly tokens: TokenService;
  private passwordHash: Promise<string> | null = null;
  private seq = 0;

  private constructor(
    readonly mongo: MongoHandles,
    readonly redis: RedisHandles,
    config: Readonly<Config>,
    secrets: JwtSecrets,
  ) {
    const db = mongo.db;
    this.users = new UsersRepository(db);
    this.conversations = new ConversationsRepository(db);
    this.messages = new MessagesRepository(db);
    this.autos = new AutoMessagesRepository(db);
    this.sessions = new SessionsRepository(redis, config.REFRESH_TOKEN_TTL);
    this.tokens = new TokenService(secrets.access, secrets.refresh, config.ACCESS_TOKEN_TTL);
  }

  static async open(config: Readonly<Config>): Promise<Fixtures> {
    const mongo = await connectMongo({
      uri: config.MONGODB_URI,
      dbName: config.MONGODB_DB,
      embeddedDir: undefined,
      logger: silentLogger,
    });
    const redis = await connectRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX, silentLogger);
    // The same secrets as the app under test, even when they are generated development ones.
    const secrets = await resolveJwtSecrets(config, new SettingsRepository(mongo.db), silentLogger);
    const fixtures = new Fixtures(mongo, redis, config, secrets);
    await Promise.all([
      fixtures.users.ensureIndexes(),
      fixtures.conversations.ensureIndexes(),
      fixtures.messages.ensureIndexes(),
      fixtures.autos.ensureIndexes(),
    ]);
    return fixtures;
  }

  /** `count` users, each with a live session and an access token, created 16 at a time. */
  async usersWithTokens(count: number): Promise<BenchUser[]> {
    this.passwordHash ??= hashPassword('bench password');
    const passwordHash = await this.passwordHash;
    const out: BenchUser[] = new Array<BenchUser>(count);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        const name = `b_${process.pid.toString(36)}_${(this.seq++).toString(36)}`;
        const user = await this.users.create({
          username: name,
          email: `${name}@bench.test`,
          passwordHash,
          displayName: name,
          role: 'user',
        });
        const sessionId = randomUUID();
        const refresh = this.tokens.newRefreshToken(sessionId);
        await this.sessions.create(sessionId, user.id, this.tokens.hashRefresh(refresh));
        const { token } = this.tokens.issueAccess(user.id, sessionId);
        out[i] = { userId: user.id, token };
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    return out;
  }

  async directConversation(a: string, b: string): Promise<string> {
    const [result] = (await this.conversations.findOrCreateDirectMany([[a, b]])).values();
    if (!result) throw new Error(`no direct conversation for ${a}/${b}`);
    return result.conversation.id;
  }

  /** A group conversation of `members` (the first one creates it), as the API would make it. */
  async groupConversation(members: readonly string[]): Promise<string> {
    const [owner] = members;
    if (!owner) throw new Error('a group needs members');
    const group = await this.conversations.createGroup(owner, [...members], `bench ${this.seq++}`);
    return group.id;
  }

  async messagesIn(conversationId: string, senders: readonly string[], count: number) {
    for (let i = 0; i < count; i += 1) {
      await this.messages.insertOnce({
        conversationId,
        senderId: senders[i % senders.length] ?? '',
        content: `history message ${i} — a sentence of ordinary length for a chat message.`,
        type: 'text',
      });
    }
  }

  /** Active users for the planner, inserted in bulk in the shape UsersRepository stores. */
  async bulkUsers(count: number): Promise<ObjectId[]> {
    const collection = this.mongo.db.collection('users');
    const ids: ObjectId[] = [];
    const now = new Date();
    for (let start = 0; start < count; start += 1000) {
      const docs = [];
      for (let i = start; i < Math.min(count, start + 1000); i += 1) {
        const _id = new ObjectId();
        ids.push(_id);
        const name = `p_${_id.toHexString()}`;
        const user = { username: name, email: `${name}@bench.test`, passwordHash: 'x' };
        docs.push({ _id, ...newUserFields({ ...user, displayName: name, role: 'user' }, now) });
      }
      await collection.insertMany(docs, { ordered: false });
    }
    return ids;
  }

  /** Empties the auto-message pipeline's collections, keeping Parley's indexes. */
  async resetPipeline(): Promise<void> {
    const db = this.mongo.db;
    for (const name of ['automessages', 'messages', 'conversations']) {
      await db
        .collection(name)
        .drop()
        .catch(() => false);
    }
    await Promise.all([
      this.autos.ensureIndexes(),
      this.messages.ensureIndexes(),
      this.conversations.ensureIndexes(),
    ]);
  }

  /** `count` auto messages due now between distinct pairs of the given users. */
  async dueAutoMessages(users: readonly ObjectId[], count: number, runId: string): Promise<void> {
    const n = users.length;
    const due = new Date(Date.now() - 60_000);
    for (let start = 0; start < count; start += 1000) {
      const batch = [];
      for (let i = start; i < Math.min(count, start + 1000); i += 1) {
        // i → i + 1 + ⌊i / n⌋ (mod n): a new pair for each of the first n·(n−1) messages.
        const sender = users[i % n] as ObjectId;
        const receiver = users[(i + 1 + Math.floor(i / n)) % n] as ObjectId;
        batch.push({
          senderId: sender.toHexString(),
          receiverId: receiver.toHexString(),
          content: 'Hey, nice to meet you. Coffee or tea?',
          sendDate: due,
          runId,
        });
      }
      await this.autos.insertBatch(batch);
    }
  }

  async close(): Promise<void> {
    await this.redis.close();
    await this.mongo.close();
  }
}
