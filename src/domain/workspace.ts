// Workspaces and API keys (API.md 1.1).
import { z } from 'zod';

export const ROLES = ['admin', 'developer', 'approver', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const workspaceCreateSchema = z.strictObject({ name: z.string().trim().min(1).max(100) });

/** Operator-set limits of a workspace; null returns a limit to the server default. */
export const workspaceLimitsSchema = z.strictObject({
  token_budget: z.number().int().min(1).nullable().optional(),
  rate_limit_per_minute: z.number().int().min(1).max(1_000_000).nullable().optional(),
  max_active_runs: z.number().int().min(1).max(1_000_000).nullable().optional(),
});

export const apiKeyCreateSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  roles: z.array(z.enum(ROLES)).min(1).max(4),
});

export type ApiKeyCreate = z.infer<typeof apiKeyCreateSchema>;

/** The authenticated caller of a request. */
export interface Principal {
  workspace_id: string;
  workspace_name: string;
  key_id: string;
  key_name: string;
  roles: Role[];
}

export const hasRole = (p: Principal, ...roles: Role[]): boolean =>
  p.roles.includes('admin') || roles.some((r) => p.roles.includes(r));
