import { randomUUID } from 'node:crypto';
import { errors } from '../../errors.js';
import type { AuthContext } from '../../contracts/auth.js';
import type { UserCache } from '../users/user.cache.js';
import type { User, UsersRepository } from '../users/users.repository.js';
import type { UserView } from '../../contracts/users.js';
import { presentUser } from '../users/users.present.js';
import { burnPasswordCheck, hashPassword, verifyPassword } from './passwords.js';
import type { SessionsRepository } from './sessions.repository.js';
import type { TokenService } from './tokens.js';
import type { UpdateMe } from '../../contracts/auth.js';

/**
 * Password guesses per account (login and password change share one count). A guess is counted
 * atomically *before* the hash is checked, so parallel requests cannot all slip under the limit.
 */
export interface PasswordGuessThrottle {
  /** Throws rate_limited when the account is over its limit; otherwise counts one guess. */
  countGuess(account: string): Promise<void>;
  clearGuesses(account: string): Promise<void>;
}

export interface AuthServiceDeps {
  users: Pick<UsersRepository, 'create' | 'findByLogin' | 'findById' | 'setRoleByEmail' | 'update'>;
  sessions: Pick<
    SessionsRepository,
    'create' | 'rotate' | 'userIdOf' | 'revoke' | 'sessionsOf' | 'denylist' | 'isAccessAllowed'
  >;
  tokens: TokenService;
  throttle: PasswordGuessThrottle;
  /**
   * When each ADMIN_EMAILS address was first listed: login makes an account admin only if it
   * was created before its address was listed (registering a listed address grants nothing).
   */
  adminListedAt: ReadonlyMap<string, Date>;
  /** `/me` reads through it (UserCache); authorisation always reads `users`. */
  userCache?: Pick<UserCache, 'get'>;
  /** Called after a session is revoked, e.g. to disconnect its sockets. */
  onSessionRevoked: (sessionId: string) => Promise<void>;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface AuthResult extends TokenPair {
  user: UserView;
}

export class AuthService {
  constructor(private readonly deps: AuthServiceDeps) {}

  async register(input: {
    username: string;
    email: string;
    password: string;
  }): Promise<AuthResult> {
    const user = await this.deps.users.create({
      username: input.username,
      email: input.email,
      passwordHash: await hashPassword(input.password),
      displayName: input.username,
      role: 'user',
    });
    return { user: presentUser(user, self(user)), ...(await this.startSession(user.id)) };
  }

  async login(input: { login: string; password: string }): Promise<AuthResult> {
    const { users, throttle } = this.deps;
    let user = await users.findByLogin(input.login.toLowerCase());
    // Keyed by account, so username and email share one count; unknown logins by their text.
    const account = user ? guessKey(user.id) : `login:${input.login.toLowerCase()}`;
    await throttle.countGuess(account);
    const valid = user
      ? user.isActive && (await verifyPassword(user.passwordHash, input.password))
      : await burnPasswordCheck(input.password).then(() => false);
    if (!user || !valid) throw errors.invalidCredentials();
    await throttle.clearGuesses(account);
    if (user.role !== 'admin' && this.listedBeforeCreation(user)) {
      user = (await users.setRoleByEmail(user.email, 'admin')) ?? user;
    }
    return { user: presentUser(user, self(user)), ...(await this.startSession(user.id)) };
  }

  /** Rotates the refresh token; a token presented twice revokes its whole session. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const { tokens, sessions } = this.deps;
    const sessionId = tokens.sessionIdOf(refreshToken);
    if (!sessionId) throw errors.unauthorized('Invalid refresh token');
    const next = tokens.newRefreshToken(sessionId);
    const { outcome, userId } = await sessions.rotate(
      sessionId,
      tokens.hashRefresh(refreshToken),
      tokens.hashRefresh(next),
    );
    if (outcome === 'reused' && userId) {
      await sessions.revoke(sessionId, userId);
      await this.deps.onSessionRevoked(sessionId);
    }
    if (outcome !== 'rotated' || !userId) throw errors.unauthorized('Invalid refresh token');
    const user = await this.deps.users.findById(userId);
    if (!user?.isActive) {
      // A disabled account gets no new tokens, and its session ends here.
      await sessions.revoke(sessionId, userId);
      await this.deps.onSessionRevoked(sessionId);
      throw errors.unauthorized('Account not found or disabled');
    }
    const access = tokens.issueAccess(userId, sessionId);
    return { accessToken: access.token, refreshToken: next, expiresIn: tokens.accessTtlSeconds };
  }

  /** Revokes the caller's session (and the one a given refresh token names, if it is theirs). */
  async logout(auth: AuthContext, refreshToken?: string): Promise<void> {
    const { sessions, tokens } = this.deps;
    const sessionIds = new Set([auth.sessionId]);
    const other = refreshToken ? tokens.sessionIdOf(refreshToken) : null;
    if (other && (await sessions.userIdOf(other)) === auth.userId) sessionIds.add(other);
    await sessions.denylist(auth.tokenId, auth.expiresAt);
    for (const sessionId of sessionIds) {
      await sessions.revoke(sessionId, auth.userId);
      await this.deps.onSessionRevoked(sessionId);
    }
  }

  /** Verifies an access token and that neither it nor its session has been revoked. */
  async authenticate(accessToken: string): Promise<AuthContext> {
    const auth = this.verifyToken(accessToken);
    await this.assertNotRevoked(auth);
    return auth;
  }

  /** The signature, algorithm and expiry part of `authenticate`: synchronous, no I/O. */
  verifyToken(accessToken: string): AuthContext {
    return this.deps.tokens.verifyAccess(accessToken);
  }

  /** The revocation part of `authenticate`: one Redis round trip. */
  private async assertNotRevoked(auth: AuthContext): Promise<void> {
    const { sessions } = this.deps;
    if (!(await sessions.isAccessAllowed(auth.tokenId, auth.sessionId, auth.userId))) {
      throw errors.unauthorized('Session revoked');
    }
  }

  async me(auth: AuthContext): Promise<UserView> {
    const { userCache, users } = this.deps;
    const user = userCache
      ? await userCache.get(auth.userId, (id) => users.findById(id))
      : await users.findById(auth.userId);
    if (!user || !user.isActive) throw errors.unauthorized('Account not found or disabled');
    return presentUser(user, self(user));
  }

  async updateMe(auth: AuthContext, patch: UpdateMe): Promise<UserView> {
    const user = await this.requireUser(auth.userId);
    const { currentPassword, newPassword, ...profile } = patch;
    let passwordHash: string | undefined;
    if (newPassword) {
      // A stolen access token must not become a password oracle: same count as login.
      await this.deps.throttle.countGuess(guessKey(user.id));
      if (!(await verifyPassword(user.passwordHash, currentPassword ?? ''))) {
        throw errors.invalidCredentials();
      }
      await this.deps.throttle.clearGuesses(guessKey(user.id));
      passwordHash = await hashPassword(newPassword);
    }
    const updated = await this.deps.users.update(user.id, {
      ...profile,
      ...(passwordHash ? { passwordHash } : {}),
    });
    if (!updated) throw errors.unauthorized();
    if (passwordHash) await this.revokeOtherSessions(user.id, auth.sessionId);
    return presentUser(updated, self(updated));
  }

  async requireAdmin(auth: AuthContext): Promise<void> {
    const user = await this.requireUser(auth.userId);
    if (user.role !== 'admin') throw errors.forbidden('Administrators only');
  }

  private async startSession(userId: string): Promise<TokenPair> {
    const { tokens, sessions } = this.deps;
    const sessionId = randomUUID();
    const refreshToken = tokens.newRefreshToken(sessionId);
    await sessions.create(sessionId, userId, tokens.hashRefresh(refreshToken));
    const access = tokens.issueAccess(userId, sessionId);
    return { accessToken: access.token, refreshToken, expiresIn: tokens.accessTtlSeconds };
  }

  /** A password change signs out every other device. */
  private async revokeOtherSessions(userId: string, keep: string): Promise<void> {
    for (const sessionId of await this.deps.sessions.sessionsOf(userId)) {
      if (sessionId === keep) continue;
      await this.deps.sessions.revoke(sessionId, userId);
      await this.deps.onSessionRevoked(sessionId);
    }
  }

  private async requireUser(userId: string): Promise<User> {
    const user = await this.deps.users.findById(userId);
    if (!user || !user.isActive) throw errors.unauthorized('Account not found or disabled');
    return user;
  }

  private listedBeforeCreation(user: User): boolean {
    const listedAt = this.deps.adminListedAt.get(user.email.toLowerCase());
    return listedAt !== undefined && user.createdAt < listedAt;
  }
}

function guessKey(userId: string): string {
  return `user:${userId}`;
}

function self(user: User) {
  return { userId: user.id, role: user.role };
}
