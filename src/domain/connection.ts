// Connected accounts (API.md 12): OAuth 2.0 authorization-code clients (with PKCE), the `auth` a tool
// declares, and what the authorization endpoints answer. No I/O: the flow itself is in services/connections.
import { z } from 'zod';
import { nameSchema } from './common';
import { outboundUrlSchema } from './url';

const scopeSchema = z.string().min(1).max(200).regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be an OAuth scope token (no spaces or quotes)');
export const scopesSchema = z.array(scopeSchema).max(50);
const endpointSchema = outboundUrlSchema;

export const connectionCreateSchema = z.strictObject({
  id: nameSchema,
  authorize_url: endpointSchema,
  token_url: endpointSchema,
  /** RFC 7009 token revocation endpoint: revoking a user's authorization revokes the grant there too. */
  revocation_url: endpointSchema.optional(),
  client_id: z.string().min(1).max(500),
  client_secret: z.string().min(1).max(2000),
  scopes: scopesSchema.default([]),
});
export type ConnectionCreate = z.infer<typeof connectionCreateSchema>;

/** What a tool declares: the connection whose user token it needs, and the scopes (default: the connection's). */
export const toolAuthSchema = z.strictObject({ connection: nameSchema, scopes: scopesSchema.optional() });
export type ToolAuth = z.infer<typeof toolAuthSchema>;

/** The redirect back from the authorization server: a code, or an error (RFC 6749 4.1.2). */
export const callbackQuerySchema = z.object({
  state: z.string().min(1).max(200),
  code: z.string().min(1).max(4096).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(2000).optional(),
});

/** A token endpoint's answer (RFC 6749 5.1); anything else is a failed exchange. */
export const tokenResponseSchema = z.object({
  access_token: z.string().min(1).max(16_384),
  token_type: z.string().max(100).optional(),
  expires_in: z.coerce.number().int().min(0).max(10 * 365 * 86_400).optional(),
  refresh_token: z.string().min(1).max(16_384).optional(),
  scope: z.string().max(4000).optional(),
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

/** Scopes a run asks for: the tool's, else the connection's. */
export const scopesFor = (auth: ToolAuth, connectionScopes: string[]): string[] => auth.scopes ?? connectionScopes;

/** A token covers what is asked when it was granted every scope (a server that names none granted all asked). */
export const covers = (granted: string[], wanted: string[]): boolean => wanted.every((s) => granted.includes(s));

/** What the check before an authorized tool call answers the workflow. */
export type AuthorizationCheck =
  | { ok: true }
  | { ok: false; authorization_url: string }
  | { ok: false; error: { code: string; message: string } };
