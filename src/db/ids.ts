// Prefixed, time-ordered ids (API.md 1): `<prefix>_<uuidv7 without dashes>`.
import { uuidv7 } from 'uuidv7';

export type IdPrefix = 'ws' | 'key' | 'agt' | 'tool' | 'vlt' | 'ses' | 'run' | 'evt' | 'tc' | 'apr' | 'act' | 'whk' | 'dlv' | 'env' | 'file' | 'mem' | 'mement' | 'evs' | 'evl' | 'fb';

export const newId = (prefix: IdPrefix): string => `${prefix}_${uuidv7().replace(/-/g, '')}`;

/** Cursor for `?after=`: the id itself, since ids sort by creation time. */
export const isIdOf = (prefix: IdPrefix, value: string): boolean => new RegExp(`^${prefix}_[0-9a-f]{32}$`).test(value);
