import { z } from 'zod';
import { AvatarUrl, Bio, DisplayName, Email, Password, UserView, Username } from './users.js';

/**
 * The authenticated identity, read from a verified access token; what every `user`/`admin`
 * route and every socket is given.
 */
export const AuthContext = z.object({
  userId: z.string(),
  sessionId: z.string(),
  tokenId: z.string(),
  expiresAt: z.number().int().describe('Access token expiry, seconds since epoch'),
});
export type AuthContext = z.infer<typeof AuthContext>;

// Bodies are strict: an unknown field (say `role`) is a 400, never silently stored.

export const RegisterBody = z.strictObject({
  username: Username,
  email: Email,
  password: Password,
});

export const LoginBody = z.strictObject({
  login: z.string().trim().min(1).max(254).describe('Username or email'),
  password: z.string().min(1).max(128),
});

export const RefreshToken = z.string().min(1).max(200);
export const RefreshBody = z.strictObject({ refreshToken: RefreshToken });
export const LogoutBody = z.strictObject({ refreshToken: RefreshToken.optional() }).optional();

export const UpdateMeBody = z
  .strictObject({
    displayName: DisplayName.optional(),
    bio: Bio.optional(),
    avatarUrl: AvatarUrl.optional(),
    currentPassword: z.string().min(1).max(128).optional(),
    newPassword: Password.optional(),
  })
  .refine((b) => !b.newPassword || b.currentPassword, {
    message: 'currentPassword is required to change the password',
    path: ['currentPassword'],
  });

export const TokenPair = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    expiresIn: z.number().int().describe('Access token lifetime in seconds'),
  })
  .meta({ id: 'TokenPair' });

export const AuthResult = TokenPair.extend({ user: UserView }).meta({ id: 'AuthResult' });
export const MeResult = z.object({ user: UserView });

export type UpdateMe = z.infer<typeof UpdateMeBody>;
