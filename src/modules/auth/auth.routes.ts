import { errorResponse, route, type RouteDef } from '../../http/route.js';
import {
  AuthResult,
  LoginBody,
  LogoutBody,
  MeResult,
  RefreshBody,
  RegisterBody,
  TokenPair,
  UpdateMeBody,
} from '../../contracts/auth.js';
import type { AuthService } from './auth.service.js';

const tag = 'auth';
const invalid = errorResponse('Validation failed');
const unauthorized = errorResponse('Missing, invalid or revoked credentials');
const limited = errorResponse('Rate limited');

export function authRoutes(auth: AuthService): RouteDef[] {
  return [
    route({
      method: 'post',
      path: '/api/auth/register',
      summary: 'Create an account and start a session',
      tag,
      access: 'public',
      limit: 'auth',
      body: RegisterBody,
      responses: {
        201: { description: 'Registered', schema: AuthResult },
        400: invalid,
        409: errorResponse('Username or email taken'),
        429: limited,
      },
      handler: async ({ body }) => ({ status: 201, body: await auth.register(body) }),
    }),
    route({
      method: 'post',
      path: '/api/auth/login',
      summary: 'Log in with username or email',
      tag,
      access: 'public',
      limit: 'auth',
      body: LoginBody,
      responses: {
        200: { description: 'Logged in', schema: AuthResult },
        400: invalid,
        401: unauthorized,
        429: limited,
      },
      handler: async ({ body }) => ({ status: 200, body: await auth.login(body) }),
    }),
    route({
      method: 'post',
      path: '/api/auth/refresh',
      summary: 'Rotate the refresh token; reusing an old one revokes the session',
      tag,
      access: 'public',
      limit: 'auth',
      body: RefreshBody,
      responses: {
        200: { description: 'New token pair', schema: TokenPair },
        400: invalid,
        401: unauthorized,
        429: limited,
      },
      handler: async ({ body }) => ({ status: 200, body: await auth.refresh(body.refreshToken) }),
    }),
    route({
      method: 'post',
      path: '/api/auth/logout',
      summary: 'Revoke this session: its access token, refresh token and sockets',
      tag,
      access: 'user',
      body: LogoutBody,
      responses: { 204: { description: 'Logged out' }, 401: unauthorized },
      handler: async ({ auth: ctx, body }) => {
        await auth.logout(ctx, body?.refreshToken);
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: '/api/auth/me',
      summary: 'The current user',
      tag,
      access: 'user',
      responses: { 200: { description: 'Me', schema: MeResult }, 401: unauthorized },
      handler: async ({ auth: ctx }) => ({ status: 200, body: { user: await auth.me(ctx) } }),
    }),
    route({
      method: 'patch',
      path: '/api/auth/me',
      summary: 'Update profile; changing the password needs the current one',
      tag,
      access: 'user',
      body: UpdateMeBody,
      responses: {
        200: { description: 'Updated', schema: MeResult },
        400: invalid,
        401: unauthorized,
      },
      handler: async ({ auth: ctx, body }) => ({
        status: 200,
        body: { user: await auth.updateMe(ctx, body) },
      }),
    }),
  ];
}
