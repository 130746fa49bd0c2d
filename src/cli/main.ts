// The `ap` command (OPERATIONS.md): server processes (start, api, worker, migrate), local key creation,
// and client commands that talk to the HTTP API like any other client.
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config';
import { useDnsServers } from '../security/network-guard';
import { newId } from '../db/ids';
import { getDefaultWorkspace, insertApiKey } from '../db/workspaces';
import { ROLES, type Role } from '../domain/workspace';
import { createSecretBox, hashApiKey, newApiKey, type SecretBox } from '../security/secrets';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { bootstrap } from '../services/workspaces';
import { purgeEndedRuns } from '../services/retention';
import { bootstrapAdmin, masterKeys, onShutdown, openDatabase, openStack, runApiIn, runWorkerIn, say } from './runtime';
import { clientCommands } from './client';
import { replayCommand } from './replay';

function config(): Config {
  try {
    const cfg = loadConfig();
    // The guard's save-time checks see only the allow-private flag: the resolver is the process's.
    useDnsServers(cfg.dnsServers);
    return cfg;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

const fail = (err: unknown): never => {
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
};

/**
 * The secret box of the configured master key (AP_MASTER_KEY, or the data directory's key file), without
 * creating a key file: a command run elsewhere must not key the audit chain or secrets with a new key.
 */
function existingSecretBox(cfg: Config): SecretBox | undefined {
  if (!cfg.masterKey && !fs.existsSync(path.join(cfg.dataDir, 'master.key'))) return undefined;
  return createSecretBox(masterKeys(cfg));
}

const program = new Command('ap').description('Agent Platform: durable, governed AI agents on Temporal');

program
  .command('start')
  .description('everything in one process tree: embedded services where none are configured, migrations, worker, API')
  .action(async () => {
    const cfg = config();
    say(`Agent Platform starting (data directory ${cfg.dataDir})`);
    const stack = await openStack(cfg, { embedded: true, migrate: true });
    onShutdown(stack);
    // The API starts run workflows through this worker's connection, eagerly (AP_EAGER_WORKFLOW_START).
    const worker = await runWorkerIn(stack);
    const { port } = await runApiIn(stack, worker);
    const base = `http://localhost:${port}`;
    say(`API:          ${base}/v1`);
    say(`Dashboard:    ${base}/dashboard`);
    say(`Temporal UI:  ${stack.temporalUi ?? '(external Temporal server; see its own UI)'}`);
    const key = await bootstrapAdmin(stack);
    if (key) say(`Admin API key: ${key}`);
    say(`Ready: ${base}`);
  });

program
  .command('api')
  .description('only the HTTP API (scale out: many of these)')
  .action(async () => {
    const stack = await openStack(config(), { embedded: false, migrate: false });
    onShutdown(stack);
    const { port } = await runApiIn(stack);
    say(`Ready: API on http://localhost:${port}`);
  });

program
  .command('worker')
  .description('only the Temporal worker (scale out: many of these)')
  .action(async () => {
    const stack = await openStack(config(), { embedded: false, migrate: false });
    onShutdown(stack);
    await runWorkerIn(stack);
    say(`Ready: worker on task queue ${stack.config.temporal.taskQueue}`);
  });

program
  .command('migrate')
  .description('apply database migrations and exit')
  .action(async () => {
    const cfg = config();
    if (!cfg.databaseUrl) fail(new Error('DATABASE_URL is required for ap migrate'));
    const db = createPool(cfg.databaseUrl!);
    try {
      // With the master key, v1 secrets are re-encrypted bound to their rows and legacy audit chains keyed;
      // without it, migrate fails if there is such work (and says so).
      const applied = await migrate(db, existingSecretBox(cfg));
      say(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date');
      const key = await bootstrap(db, cfg.adminKey);
      if (key) say(`Admin API key: ${key}`);
    } finally {
      await db.end();
    }
  });

program
  .command('purge')
  .description("purge the content of runs that ended before the retention period (AP_RETENTION_DAYS, or --older-than)")
  .option('--older-than <age>', 'e.g. 30d, 12h, 0s')
  .option('--workspace <id>', 'only this workspace')
  .action(async (opts: { olderThan?: string; workspace?: string }) => {
    const cfg = config();
    const age = opts.olderThan ?? (cfg.retentionDays !== undefined ? `${cfg.retentionDays}d` : undefined);
    const m = age?.match(/^(\d+)([dhms])$/);
    if (!m) fail(new Error('Give --older-than like 30d, 12h or 0s, or set AP_RETENTION_DAYS'));
    const seconds = Number(m![1]) * { d: 86_400, h: 3_600, m: 60, s: 1 }[m![2] as 'd' | 'h' | 'm' | 's'];
    const stoppers: (() => Promise<void>)[] = [];
    try {
      // The purge is audited, and the audit chain is keyed from the master key.
      const box = existingSecretBox(cfg);
      if (!box) throw new Error('ap purge needs AP_MASTER_KEY (the audit chain it appends to is keyed from it)');
      const { db } = await openDatabase(cfg, true, stoppers);
      say(`Purged the content of ${await purgeEndedRuns(db, box.audit, seconds, opts.workspace)} ended run(s)`);
    } catch (err) {
      fail(err);
    } finally {
      for (const stop of stoppers) await stop().catch(() => undefined);
    }
  });

const keys = program.command('keys').description('API keys');
keys
  .command('create')
  .description('create an API key in the default workspace, directly in the database (prints it once)')
  .requiredOption('--name <name>', 'a name for the key')
  .requiredOption('--role <role...>', `one or more of ${ROLES.join(', ')}`)
  .action(async (opts: { name: string; role: string[] }) => {
    const bad = opts.role.find((r) => !(ROLES as readonly string[]).includes(r));
    if (bad) fail(new Error(`Unknown role ${bad}; use one of ${ROLES.join(', ')}`));
    const cfg = config();
    const stoppers: (() => Promise<void>)[] = [];
    try {
      const { db } = await openDatabase(cfg, true, stoppers);
      await migrate(db, existingSecretBox(cfg));
      const ws = await getDefaultWorkspace(db);
      if (!ws) throw new Error('No default workspace yet: run `ap start` or `ap migrate` once first');
      const key = newApiKey();
      const row = await insertApiKey(db, { id: newId('key'), workspace_id: ws.id, name: opts.name, roles: opts.role as Role[], key_hash: hashApiKey(key), prefix: key.slice(0, 7) });
      say(`Created ${row.id} (${row.roles.join(', ')}):`);
      say(key);
    } catch (err) {
      fail(err);
    } finally {
      for (const stop of stoppers) await stop().catch(() => undefined);
    }
  });

clientCommands(program);
replayCommand(program);

program.parseAsync(process.argv).catch(fail);
