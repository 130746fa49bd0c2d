// Vault secrets: values referenced from tool headers as {{vault.NAME}} and resolved inside activities.
import { z } from 'zod';

export const vaultName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _ only, not starting with a digit');

export const vaultCreateSchema = z.strictObject({ name: vaultName, value: z.string().min(1).max(16_384) });
export const vaultUpdateSchema = z.strictObject({ value: z.string().min(1).max(16_384) });

export const VAULT_REF = /\{\{\s*vault\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
