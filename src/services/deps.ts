// What services need, passed in once: the pool, the config, the secret box, the logger, Temporal.
import type { Logger } from 'pino';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { Config } from '../config';
import type { Db } from '../db/pool';
import type { SecretBox } from '../security/secrets';
import type { EventBus } from './event-bus';
import type { RunStarts } from '../temporal/eager-start';

export interface ServiceDeps {
  db: Db;
  config: Config;
  secrets: SecretBox;
  log: Logger;
  temporal: Client;
  bus: EventBus;
  /** The payload codec, to decode histories for auditors and the Temporal UI. */
  codec: PayloadCodec;
  /** Run workflow starts, eager under `ap start` (src/temporal/eager-start.ts); unset: through `temporal`. */
  runStarts?: RunStarts;
}

export function page<T extends { id: string }>(rows: T[], limit: number): { data: T[]; has_more: boolean; next_cursor: string | null } {
  const has_more = rows.length > limit;
  const data = has_more ? rows.slice(0, limit) : rows;
  return { data, has_more, next_cursor: has_more ? (data[data.length - 1]?.id ?? null) : null };
}

/** A list object (`object: 'list'`, a cursor page) of the rows' views. */
export function list<R extends { id: string }, V>(rows: R[], limit: number, view: (r: R) => V) {
  const p = page(rows, limit);
  return { object: 'list' as const, ...p, data: p.data.map(view) };
}
