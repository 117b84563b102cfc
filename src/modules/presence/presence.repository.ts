import { luaScript, type RedisHandles } from '../../infra/redis.js';

// KEYS: online_users, presence:user:<uid>, presence:instance_users:<instance>
// ARGV: userId, instanceId. Returns 1 when this connection brought the user online.
const CONNECT = luaScript(`
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('SADD', KEYS[3], ARGV[1])
return redis.call('SADD', KEYS[1], ARGV[1])
`);

// Returns 1 when this was the user's last connection on any instance.
const DISCONNECT = luaScript(`
local left = redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
if left <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('SREM', KEYS[3], ARGV[1])
end
if redis.call('HLEN', KEYS[2]) == 0 then
  return redis.call('SREM', KEYS[1], ARGV[1])
end
return 0
`);

// Removes a dead instance's connections. KEYS: online_users, presence:instance_users:<dead>,
// presence:instances. ARGV: dead instance id, user-key prefix. Returns users now offline.
const SWEEP = luaScript(`
local offline = {}
for _, uid in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local userKey = ARGV[2] .. uid
  redis.call('HDEL', userKey, ARGV[1])
  if redis.call('HLEN', userKey) == 0 and redis.call('SREM', KEYS[1], uid) == 1 then
    table.insert(offline, uid)
  end
end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[3], ARGV[1])
return offline
`);

// Re-asserts what one instance knows, so presence comes back after Redis lost its data (flush,
// restart without persistence). KEYS: online_users, presence:instance_users:<instance>.
// ARGV: instance id, user-key prefix, then userId, connection count pairs. Idempotent.
const RESTORE = luaScript(`
for i = 3, #ARGV, 2 do
  redis.call('HSET', ARGV[2] .. ARGV[i], ARGV[1], ARGV[i + 1])
  redis.call('SADD', KEYS[2], ARGV[i])
  redis.call('SADD', KEYS[1], ARGV[i])
end
return 0
`);

/** Users per RESTORE call, so one script never blocks Redis for long. */
const RESTORE_BATCH = 500;

/**
 * Presence across instances (SPEC §5). `online_users` holds a user while any of their sockets,
 * on any instance, is connected: a per-user hash counts connections per instance, so a second
 * tab closing does not mark anyone offline. Each instance refreshes a heartbeat; instances
 * whose heartbeat is stale are swept by the survivors, so a crashed instance's users drop out.
 */
export class PresenceRepository {
  constructor(private readonly redis: RedisHandles) {}

  private get onlineKey() {
    return this.redis.key('online_users');
  }

  private userKey(userId: string) {
    return this.redis.key(`presence:user:${userId}`);
  }

  private instanceUsersKey(instanceId: string) {
    return this.redis.key(`presence:instance_users:${instanceId}`);
  }

  private get instancesKey() {
    return this.redis.key('presence:instances');
  }

  /** Returns true when this connection brought the user online. */
  async connect(userId: string, instanceId: string): Promise<boolean> {
    const keys = [this.onlineKey, this.userKey(userId), this.instanceUsersKey(instanceId)];
    return (await CONNECT.run(this.redis.client, keys, [userId, instanceId])) === 1;
  }

  /** Returns true when this was the user's last connection anywhere. */
  async disconnect(userId: string, instanceId: string): Promise<boolean> {
    const keys = [this.onlineKey, this.userKey(userId), this.instanceUsersKey(instanceId)];
    return (await DISCONNECT.run(this.redis.client, keys, [userId, instanceId])) === 1;
  }

  /**
   * Marks the instance alive and re-asserts its users' connection counts: after Redis loses
   * its data, one heartbeat brings every connected user back into `online_users`.
   */
  async heartbeat(
    instanceId: string,
    connections: ReadonlyMap<string, number>,
    now = Date.now(),
  ): Promise<void> {
    await this.redis.client.hset(this.instancesKey, instanceId, String(now));
    const users = [...connections.keys()];
    const keys = [this.onlineKey, this.instanceUsersKey(instanceId)];
    const prefix = this.redis.key('presence:user:');
    for (let i = 0; i < users.length; i += RESTORE_BATCH) {
      // Counts read when the batch is sent: a connect or disconnect since the last batch went
      // to Redis before this script, on the same connection, so the two always agree.
      const args = users.slice(i, i + RESTORE_BATCH).flatMap((uid) => {
        const count = connections.get(uid) ?? 0;
        return count > 0 ? [uid, String(count)] : [];
      });
      if (args.length > 0) {
        await RESTORE.run(this.redis.client, keys, [instanceId, prefix, ...args]);
      }
    }
  }

  /** Instances whose last heartbeat is older than `staleMs`. */
  async staleInstances(staleMs: number, now = Date.now()): Promise<string[]> {
    const beats = await this.redis.client.hgetall(this.instancesKey);
    return Object.entries(beats)
      .filter(([, at]) => now - Number(at) > staleMs)
      .map(([id]) => id);
  }

  /** Drops a dead instance's connections; returns the users that went offline. */
  async sweepInstance(instanceId: string): Promise<string[]> {
    const keys = [this.onlineKey, this.instanceUsersKey(instanceId), this.instancesKey];
    const prefix = this.redis.key('presence:user:');
    return (await SWEEP.run(this.redis.client, keys, [instanceId, prefix])) as string[];
  }

  async isOnline(userId: string): Promise<boolean> {
    return (await this.redis.client.sismember(this.onlineKey, userId)) === 1;
  }

  async areOnline(userIds: string[]): Promise<boolean[]> {
    if (userIds.length === 0) return [];
    const flags = await this.redis.client.smismember(this.onlineKey, ...userIds);
    return flags.map((f) => f === 1);
  }

  async onlineUserIds(): Promise<string[]> {
    return this.redis.client.smembers(this.onlineKey);
  }

  async onlineCount(): Promise<number> {
    return this.redis.client.scard(this.onlineKey);
  }
}
