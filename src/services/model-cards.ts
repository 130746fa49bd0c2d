// Model cards: a provider's endpoint and credentials, the key and headers encrypted at rest and never shown
// again, the base URL checked as an outbound URL, and no delete while an agent or a memory store uses the card.
import type { Db } from '../db/pool';
import { transaction } from '../db/pool';
import * as repo from '../db/model-cards';
import { alreadyExists, PlatformError, notFound } from '../domain/errors';
import { isoDate, type ListQuery } from '../domain/common';
import { DEFAULT_BASE_URL, type ModelCardCreate, type ModelCardUpdate } from '../domain/model-card';
import type { Principal } from '../domain/workspace';
import { cell } from '../db/secret-cells';
import { preview, type SecretBox } from '../security/secrets';
import { checkOutbound } from './outbound-urls';
import { list } from './deps';

function cardView(r: repo.ModelCardRow, secrets: SecretBox) {
  const headers = r.headers_enc ? (JSON.parse(secrets.decrypt(r.headers_enc, cell.modelCard(r, 'headers'))) as Record<string, string>) : {};
  return {
    id: r.id,
    object: 'model_card' as const,
    provider: r.provider,
    base_url: r.base_url,
    default_model: r.default_model,
    api_key_preview: r.api_key_preview,
    // Header values may be credentials (gateways): only their names are shown.
    headers: Object.fromEntries(Object.keys(headers).map((k) => [k, '[hidden]'])),
    pricing: r.pricing,
    timeout_seconds: r.timeout_seconds,
    created_at: isoDate(r.created_at),
    updated_at: isoDate(r.updated_at),
  };
}

export async function createModelCard(db: Db, secrets: SecretBox, p: Principal, b: ModelCardCreate, allowPrivate: boolean) {
  if (b.provider !== 'echo') await checkOutbound(b.base_url ?? DEFAULT_BASE_URL[b.provider], allowPrivate, 'base_url');
  const apiKey = b.api_key ?? '';
  const row = await repo.insertModelCard(db, {
    workspace_id: p.workspace_id,
    id: b.id,
    provider: b.provider,
    base_url: (b.base_url ?? DEFAULT_BASE_URL[b.provider]).replace(/\/+$/, ''),
    api_key_enc: secrets.encrypt(apiKey, cell.modelCard({ workspace_id: p.workspace_id, id: b.id }, 'api_key')),
    api_key_preview: apiKey ? preview(apiKey) : '',
    headers_enc: b.headers ? secrets.encrypt(JSON.stringify(b.headers), cell.modelCard({ workspace_id: p.workspace_id, id: b.id }, 'headers')) : null,
    default_model: b.default_model,
    pricing: b.pricing ?? null,
    timeout_seconds: b.timeout_seconds ?? null,
  });
  if (!row) throw alreadyExists(`Model card ${b.id}`, 'id');
  return cardView(row, secrets);
}

export async function getModelCard(db: Db, secrets: SecretBox, p: Principal, id: string) {
  const row = await repo.getModelCard(db, p.workspace_id, id);
  if (!row) throw notFound('model card', 'id');
  return cardView(row, secrets);
}

export async function listModelCards(db: Db, secrets: SecretBox, p: Principal, q: ListQuery) {
  return list(await repo.listModelCards(db, p.workspace_id, q.limit, q.after), q.limit, (r) => cardView(r, secrets));
}

export async function updateModelCard(db: Db, secrets: SecretBox, p: Principal, id: string, b: ModelCardUpdate, allowPrivate: boolean) {
  if (b.base_url) await checkOutbound(b.base_url, allowPrivate, 'base_url');
  return transaction(db, async (c) => {
    const row = await repo.getModelCard(c, p.workspace_id, id);
    if (!row) throw notFound('model card', 'id');
    if (row.provider === 'echo') {
      const given = (['base_url', 'api_key', 'headers'] as const).find((f) => b[f] !== undefined);
      if (given) throw new PlatformError('validation_failed', `${given}: an echo card has no ${given}`, given);
    }
    const updated = await repo.updateModelCard(c, {
      ...row,
      base_url: b.base_url ? b.base_url.replace(/\/+$/, '') : row.base_url,
      api_key_enc: b.api_key ? secrets.encrypt(b.api_key, cell.modelCard(row, 'api_key')) : row.api_key_enc,
      api_key_preview: b.api_key ? preview(b.api_key) : row.api_key_preview,
      headers_enc: b.headers ? secrets.encrypt(JSON.stringify(b.headers), cell.modelCard(row, 'headers')) : row.headers_enc,
      default_model: b.default_model ?? row.default_model,
      pricing: b.pricing === undefined ? row.pricing : b.pricing,
      timeout_seconds: b.timeout_seconds === undefined ? row.timeout_seconds : b.timeout_seconds,
    });
    return cardView(updated, secrets);
  });
}

/** Refused while an agent or a memory store uses the card: their next calls would all fail. */
export async function deleteModelCard(db: Db, p: Principal, id: string) {
  return transaction(db, async (c) => {
    if (!(await repo.getModelCard(c, p.workspace_id, id, 'update'))) throw notFound('model card', 'id');
    const users = await repo.modelCardUsers(c, p.workspace_id, id);
    const named = [
      ...(users.agents.length ? [`agents ${users.agents.join(', ')}`] : []),
      ...(users.memory_stores.length ? [`memory stores ${users.memory_stores.join(', ')}`] : []),
    ];
    if (named.length) throw new PlatformError('model_card_in_use', `Model card ${id} is used by ${named.join(' and ')}; change or archive them first`, 'id');
    if (!(await repo.deleteModelCard(c, p.workspace_id, id))) throw notFound('model card', 'id');
    return { id, object: 'model_card' as const, deleted: true };
  });
}
