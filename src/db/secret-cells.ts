// Every database cell that holds a ciphertext, and the context (src/security/secrets.ts) each is bound
// to. Call sites build contexts with `cell`; the v1 → v2 migration (migrate-secrets.ts) walks SECRET_CELLS.
import type { SecretContext } from '../security/secrets';

export interface SecretCellTable {
  table: string;
  /** Stored column → the logical column in the context. */
  columns: Record<string, string>;
  /** The columns of the row key, within the workspace. */
  key: readonly string[];
  /** The ciphertext is the `enc` field of a jsonb column (stored idempotent responses). */
  jsonEnc?: true;
}

export const SECRET_CELLS: readonly SecretCellTable[] = [
  { table: 'model_cards', columns: { api_key_enc: 'api_key', headers_enc: 'headers' }, key: ['id'] },
  // Vault secrets are addressed by name (PATCH /v1/vault/{name} updates in place).
  { table: 'vault_secrets', columns: { value_enc: 'value' }, key: ['name'] },
  { table: 'connections', columns: { client_secret_enc: 'client_secret' }, key: ['id'] },
  { table: 'connection_tokens', columns: { access_token_enc: 'access_token', refresh_token_enc: 'refresh_token' }, key: ['connection_id', 'user_reference'] },
  { table: 'connection_states', columns: { code_verifier_enc: 'code_verifier' }, key: ['state_hash'] },
  // One logical column for both: rotation moves secret_enc into previous_secret_enc in SQL.
  { table: 'webhook_endpoints', columns: { secret_enc: 'secret', previous_secret_enc: 'secret' }, key: ['id'] },
  { table: 'idempotency_keys', columns: { response_body: 'response_body' }, key: ['key'], jsonEnc: true },
];

const at = (workspace: string, table: string, column: string, row: string | readonly string[]): SecretContext => ({ workspace, table, column, row });

export const cell = {
  modelCard: (r: { workspace_id: string; id: string }, column: 'api_key' | 'headers') => at(r.workspace_id, 'model_cards', column, r.id),
  vault: (workspace: string, name: string) => at(workspace, 'vault_secrets', 'value', name),
  connection: (r: { workspace_id: string; id: string }) => at(r.workspace_id, 'connections', 'client_secret', r.id),
  token: (workspace: string, connection: string, user: string, column: 'access_token' | 'refresh_token') =>
    at(workspace, 'connection_tokens', column, [connection, user]),
  oauthState: (workspace: string, stateHash: string) => at(workspace, 'connection_states', 'code_verifier', stateHash),
  webhook: (workspace: string, id: string) => at(workspace, 'webhook_endpoints', 'secret', id),
  idempotentResponse: (workspace: string, key: string) => at(workspace, 'idempotency_keys', 'response_body', key),
};
