// Model cards: a provider's endpoint and credentials, the key and headers encrypted at rest and never shown
// again, the base URL checked as an outbound URL, the provider asked once before a card is stored or rotated
// (the probe), and no delete while an agent or a memory store uses the card.
import type { Db } from '../db/pool';
import { transaction } from '../db/pool';
import * as repo from '../db/model-cards';
import { alreadyExists, PlatformError, notFound } from '../domain/errors';
import { isoDate, type ListQuery } from '../domain/common';
import { DEFAULT_BASE_URL, type ModelCardCreate, type ModelCardUpdate, type Provider } from '../domain/model-card';
import type { Principal } from '../domain/workspace';
import { cell } from '../db/secret-cells';
import { preview, SecretError, type SecretBox } from '../security/secrets';
import { PrivateNetworkError, sharedGuardedFetch } from '../security/network-guard';
import { probeModel, probePath, ProbeUnreachableError } from '../providers/probe';
import { checkOutbound } from './outbound-urls';
import { list, type ServiceDeps } from './deps';

/**
 * The provider's answers that refuse a card: the key (401, 403) or the model or URL (404) is wrong.
 * Anything else (429, 5xx, a gateway's 400 or 405) says nothing sure about the card, which is stored.
 */
const REFUSING = new Map<number, string>([
  [401, 'api_key'],
  [403, 'api_key'],
  [404, 'default_model'],
]);

interface ProbedCard {
  provider: Provider;
  base_url: string;
  api_key: string;
  headers: Record<string, string>;
  default_model: string;
}

/** The probe (API.md 16): throws model_card_probe_failed (or private_network_blocked) instead of storing. */
async function probeCard(deps: ServiceDeps, id: string, card: ProbedCard, what: 'stored' | 'changed'): Promise<void> {
  if (card.provider === 'echo') return;
  const { allowPrivateNetwork, modelCardProbeTimeoutMs } = deps.config;
  const endpoint = { base_url: card.base_url, api_key: card.api_key, headers: card.headers, fetch: sharedGuardedFetch(allowPrivateNetwork) };
  const asked = `GET ${probePath(card.provider, card.default_model)}`;
  let status: number, message: string;
  try {
    ({ status, message } = await probeModel(card.provider, endpoint, card.default_model, modelCardProbeTimeoutMs));
  } catch (err) {
    if (err instanceof PrivateNetworkError) throw new PlatformError('private_network_blocked', err.message, 'base_url');
    if (!(err instanceof ProbeUnreachableError)) throw err;
    deps.log.info({ card: id, provider: card.provider, reason: err.message }, 'model card probe: provider unreachable');
    throw new PlatformError('model_card_probe_failed', `Model card ${id} was not ${what}: the provider ${err.message} (${asked}). "probe": false saves a card without calling the provider`, 'base_url');
  }
  const param = REFUSING.get(status);
  if (param) {
    deps.log.info({ card: id, provider: card.provider, status }, 'model card probe: refused by the provider');
    // The provider's own words last: they are its text, of any punctuation.
    throw new PlatformError('model_card_probe_failed', `Model card ${id} was not ${what}: the provider answered ${status} to ${asked}${message ? `: ${message}` : ''}`, param);
  }
  if (status >= 300) deps.log.warn({ card: id, provider: card.provider, status }, 'model card probe: the provider answered neither yes nor no; stored');
}

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

export async function createModelCard(deps: ServiceDeps, p: Principal, b: ModelCardCreate) {
  const { db, secrets } = deps;
  const baseUrl = (b.base_url ?? DEFAULT_BASE_URL[b.provider]).replace(/\/+$/, '');
  if (b.provider !== 'echo') await checkOutbound(b.base_url ?? DEFAULT_BASE_URL[b.provider], deps.config.allowPrivateNetwork, 'base_url');
  const apiKey = b.api_key ?? '';
  // A taken id is refused before the provider is asked (the insert below stays the guard against a race).
  if (await repo.getModelCard(db, p.workspace_id, b.id)) throw alreadyExists(`Model card ${b.id}`, 'id');
  if (b.probe !== false) await probeCard(deps, b.id, { provider: b.provider, base_url: baseUrl, api_key: apiKey, headers: b.headers ?? {}, default_model: b.default_model }, 'stored');
  const row = await repo.insertModelCard(db, {
    workspace_id: p.workspace_id,
    id: b.id,
    provider: b.provider,
    base_url: baseUrl,
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

/**
 * A rotation or any other change. One that changes what a model call sends (URL, key, headers, model) is
 * probed first with the card as it would be, outside the transaction: the probe may take seconds.
 */
export async function updateModelCard(deps: ServiceDeps, p: Principal, id: string, b: ModelCardUpdate) {
  const { db, secrets } = deps;
  if (b.base_url) await checkOutbound(b.base_url, deps.config.allowPrivateNetwork, 'base_url');
  const current = await repo.getModelCard(db, p.workspace_id, id);
  if (!current) throw notFound('model card', 'id');
  if (current.provider === 'echo') {
    const given = (['base_url', 'api_key', 'headers'] as const).find((f) => b[f] !== undefined);
    if (given) throw new PlatformError('validation_failed', `${given}: an echo card has no ${given}`, given);
  }
  const changesCall = (['base_url', 'api_key', 'headers', 'default_model'] as const).some((f) => b[f] !== undefined);
  if (changesCall && b.probe !== false) {
    let stored: { api_key: string; headers: Record<string, string> };
    try {
      stored = {
        api_key: b.api_key ?? secrets.decrypt(current.api_key_enc, cell.modelCard(current, 'api_key')),
        headers: b.headers ?? (current.headers_enc ? (JSON.parse(secrets.decrypt(current.headers_enc, cell.modelCard(current, 'headers'))) as Record<string, string>) : {}),
      };
    } catch (err) {
      // A ciphertext that belongs elsewhere (or under a lost master key): a model call would fail on it too.
      if (!(err instanceof SecretError)) throw err;
      throw new PlatformError('model_card_probe_failed', `Model card ${id} was not changed: its stored key or headers cannot be read (${err.message}); send api_key and headers again, or "probe": false`, b.api_key ? 'headers' : 'api_key');
    }
    await probeCard(deps, id, {
      provider: current.provider,
      base_url: b.base_url ? b.base_url.replace(/\/+$/, '') : current.base_url,
      ...stored,
      default_model: b.default_model ?? current.default_model,
    }, 'changed');
  }
  return transaction(db, async (c) => {
    const row = await repo.getModelCard(c, p.workspace_id, id);
    if (!row) throw notFound('model card', 'id');
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
