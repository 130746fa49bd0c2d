// The environment, parsed once at start through one zod schema; nothing else reads process.env.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const boolish = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65535);

const pemFile = z
  .string()
  .refine((p) => fs.existsSync(p) && fs.statSync(p).isFile(), 'must be the path of a readable PEM file')
  .optional();

const envSchema = z.object({
  AP_PORT: port.default(8080),
  AP_HOST: z.string().min(1).default('0.0.0.0'),
  /** Where users' browsers reach this API: OAuth redirect URIs are built from it (API.md 12). */
  AP_PUBLIC_URL: z.string().url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL').transform((u) => u.replace(/\/+$/, '')).optional(),
  AP_DATA_DIR: z.string().min(1).default('./.data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection string')
    .optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('agent-platform'),
  // A Temporal cluster behind TLS: Temporal Cloud with mTLS (TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY) or an
  // API key (TEMPORAL_API_KEY, TLS with the system's roots), or a self-hosted one with its own CA.
  TEMPORAL_TLS: boolish.default(false),
  TEMPORAL_TLS_CERT: pemFile,
  TEMPORAL_TLS_KEY: pemFile,
  TEMPORAL_TLS_CA: pemFile,
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  // Workflows kept in a worker's memory between tasks; parked runs beyond it are evicted and replayed
  // from history when they resume. Measured (npm run bench, 1,000 parked runs): ~2.7 MiB each, so the
  // default keeps a worker under 1 GiB however many runs are parked.
  AP_WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(100),
  // The workflow code a worker bundles (default: this build's workflows/index.ts): a release's next
  // workflow code beside this one, e.g. the rolling-restart test's patched() copy.
  AP_WORKER_WORKFLOWS: z.string().min(1).optional(),
  // A file a worker rewrites every 5 s while it polls (RUNNING): a container health check without a port.
  AP_WORKER_HEALTH_FILE: z.string().min(1).optional(),
  AP_MASTER_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be a base64-encoded 32-byte key')
    .optional(),
  AP_PREVIOUS_MASTER_KEYS: z
    .string()
    .refine((v) => v.split(',').every((k) => Buffer.from(k.trim(), 'base64').length === 32), 'must be comma-separated base64 32-byte keys')
    .optional(),
  AP_RETENTION_DAYS: z.coerce.number().min(0).max(36_500).optional(),
  AP_CODEC_CORS_ORIGINS: z.string().default('http://localhost:8233'),
  AP_ALLOW_PRIVATE_NETWORK: boolish.default(false),
  // Name servers for the private-network guard instead of the system resolver (tests run their own).
  AP_DNS_SERVERS: z
    .string()
    .regex(/^(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:.]+\])(:\d{1,5})?(,(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:.]+\])(:\d{1,5})?)*$/, 'must be comma-separated IP[:port], e.g. 127.0.0.1:5353')
    .optional(),
  AP_TEMPORAL_CLI: z.string().min(1).optional(),
  // `ap start` (API and worker in one process) starts run workflows eagerly: the first workflow task comes
  // back with the start and runs on the local worker, without a trip through matching. false: the normal way.
  AP_EAGER_WORKFLOW_START: boolish.default(true),
  AP_ADMIN_KEY: z
    .string()
    .regex(/^ap_[A-Za-z0-9_-]{20,}$/, 'must look like ap_ followed by at least 20 characters')
    .optional(),
  AP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(1200),
  AP_MAX_ACTIVE_RUNS: z.coerce.number().int().min(1).max(1_000_000).default(100),
  // All keys of one workspace together (an admin could otherwise multiply the per-key rate by minting keys).
  AP_WORKSPACE_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(6000),
  // Long-lived requests (SSE streams, `wait: true`, chat completions) one API key holds open at once, per
  // API process: each holds a socket and a subscription until its run ends.
  AP_MAX_LONG_REQUESTS_PER_KEY: z.coerce.number().int().min(1).max(100_000).default(200),
  // /metrics reads platform-wide aggregates from PostgreSQL at most once per this many seconds (0 = every scrape).
  AP_METRICS_CACHE_SECONDS: z.coerce.number().min(0).max(3600).default(10),
  // PostgreSQL connections per process. The API sheds load (429) when 4× this many (at least 50) queries wait.
  AP_DB_POOL_SIZE: z.coerce.number().int().min(2).max(500).default(10),
  // The largest file POST /v1/files accepts (API.md 11); a larger upload is 413 and stores nothing.
  AP_MAX_FILE_BYTES: z.coerce.number().int().min(1).max(1024 ** 3).default(25 * 1024 * 1024),
  // An upload's whole body must arrive within this time (it is read before a database connection is
  // taken); a slower one is 400 request_timeout. Uploads in flight per API key, past which 429.
  AP_UPLOAD_BODY_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  AP_UPLOADS_PER_KEY: z.coerce.number().int().min(1).max(1000).default(4),
  // Creating or rotating a model card calls the provider once (API.md 16: at most 6 s); tests shorten it.
  AP_MODEL_CARD_PROBE_TIMEOUT_MS: z.coerce.number().int().min(100).max(6000).default(6000),
  AP_TOKEN_BUDGET: z.coerce.number().int().min(1).optional(),
  AP_WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, 'must be comma-separated seconds, e.g. 5,300,1800')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // `pretty`: one readable line per entry; `json`: one JSON object per line. Default: pretty on a terminal.
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  // Tracing is off unless an OTLP/HTTP collector is named (the standard OpenTelemetry variables).
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().regex(/^https?:\/\//, 'must be an http(s) URL').optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  // Behind a TLS-terminating proxy: which hops' X-Forwarded-* headers to believe (Express `trust proxy`):
  // true, a hop count, or comma-separated addresses/subnets/`loopback`. Unset: none (they are spoofable).
  AP_TRUST_PROXY: z
    .string()
    .regex(/^(true|false|\d{1,2}|[0-9A-Za-z.:/_, -]{1,500})$/, 'must be true, false, a hop count, or comma-separated addresses, subnets or loopback/linklocal/uniquelocal')
    .optional(),
  NODE_ENV: z.string().default('development'),
  AP_URL: z.string().url().optional(),
  AP_API_KEY: z.string().optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  port: number;
  host: string;
  /** The API's URL as users' browsers see it (default http://localhost:<AP_PORT>). */
  publicUrl: string;
  dataDir: string;
  databaseUrl: string | undefined;
  temporal: { address: string | undefined; namespace: string; taskQueue: string; cliPath: string | undefined; maxCachedWorkflows: number; eagerWorkflowStart: boolean; workflowsPath: string | undefined; healthFile: string | undefined; security: TemporalSecurity };
  masterKey: string | undefined;
  /** Older master keys: they still decrypt secrets and payloads after a rotation. */
  previousMasterKeys: string[];
  /** Ended runs' content is purged after this many days; undefined = kept. */
  retentionDays: number | undefined;
  /** Origins (the Temporal Web UI) allowed to call the codec endpoint from a browser. */
  codecCorsOrigins: string[];
  allowPrivateNetwork: boolean;
  /** Name servers the private-network guard resolves with; undefined = the system resolver. */
  dnsServers: string[] | undefined;
  adminKey: string | undefined;
  logLevel: Env['LOG_LEVEL'];
  /** Undefined: pretty when stderr is a terminal, JSON otherwise. */
  logFormat: Env['LOG_FORMAT'];
  /** OpenTelemetry tracing through Temporal's interceptors; endpoint undefined = off (no interceptors). */
  tracing: { endpoint: string | undefined; serviceName: string | undefined };
  /** Defaults for workspaces whose operator set no limit of their own. */
  limits: { ratePerMinute: number; maxActiveRuns: number; tokenBudget: number | undefined; workspaceRatePerMinute: number; longRequestsPerKey: number };
  /** How long /metrics reuses its database aggregates, in seconds. */
  metricsCacheSeconds: number;
  dbPoolSize: number;
  /** The largest upload POST /v1/files accepts, in bytes. */
  maxFileBytes: number;
  /** Uploads: the deadline for a whole body (ms) and how many may be in flight per API key. */
  uploads: { bodyTimeoutMs: number; perKey: number };
  /** How long the model-card probe waits for the provider's whole answer, in ms. */
  modelCardProbeTimeoutMs: number;
  /** Seconds between webhook delivery attempts; undefined = the default schedule (> 24 h). */
  webhookRetrySchedule: number[] | undefined;
  production: boolean;
  /** Express `trust proxy` (AP_TRUST_PROXY): false unless set, so X-Forwarded-Proto cannot fake https. */
  trustProxy: boolean | number | string;
  client: { url: string | undefined; apiKey: string | undefined };
}

/** How the API and workers reach a Temporal cluster behind TLS (undefined fields: not used). */
export interface TemporalSecurity {
  tls: boolean;
  certPath?: string;
  keyPath?: string;
  caPath?: string;
  serverName?: string;
  /** A secret: never logged. */
  apiKey?: string;
}

export class ConfigError extends Error {}

/** Parses an environment; throws ConfigError with one line naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`Invalid configuration: ${name} ${issue?.message ?? 'is invalid'}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  if (production && !e.AP_MASTER_KEY) {
    throw new ConfigError('Invalid configuration: AP_MASTER_KEY is required when NODE_ENV=production');
  }
  if (!e.TEMPORAL_TLS_CERT !== !e.TEMPORAL_TLS_KEY) {
    throw new ConfigError(`Invalid configuration: ${e.TEMPORAL_TLS_CERT ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT'} is required with ${e.TEMPORAL_TLS_CERT ? 'TEMPORAL_TLS_CERT' : 'TEMPORAL_TLS_KEY'} (mTLS needs both)`);
  }
  const tlsNamed = ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY'].find((k) => e[k as keyof typeof e]);
  if ((tlsNamed || e.TEMPORAL_TLS) && !e.TEMPORAL_ADDRESS) {
    throw new ConfigError(`Invalid configuration: ${tlsNamed ?? 'TEMPORAL_TLS'} needs TEMPORAL_ADDRESS (the embedded dev server has no TLS)`);
  }
  const security: TemporalSecurity = {
    tls: e.TEMPORAL_TLS || Boolean(tlsNamed),
    ...(e.TEMPORAL_TLS_CERT ? { certPath: path.resolve(e.TEMPORAL_TLS_CERT), keyPath: path.resolve(e.TEMPORAL_TLS_KEY!) } : {}),
    ...(e.TEMPORAL_TLS_CA ? { caPath: path.resolve(e.TEMPORAL_TLS_CA) } : {}),
    ...(e.TEMPORAL_TLS_SERVER_NAME ? { serverName: e.TEMPORAL_TLS_SERVER_NAME } : {}),
    ...(e.TEMPORAL_API_KEY ? { apiKey: e.TEMPORAL_API_KEY } : {}),
  };
  const dnsServers = e.AP_DNS_SERVERS?.split(',');
  return {
    port: e.AP_PORT,
    host: e.AP_HOST,
    publicUrl: e.AP_PUBLIC_URL ?? `http://localhost:${e.AP_PORT}`,
    dataDir: path.resolve(e.AP_DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      cliPath: e.AP_TEMPORAL_CLI,
      maxCachedWorkflows: e.AP_WORKER_MAX_CACHED_WORKFLOWS,
      eagerWorkflowStart: e.AP_EAGER_WORKFLOW_START,
      workflowsPath: e.AP_WORKER_WORKFLOWS ? path.resolve(e.AP_WORKER_WORKFLOWS) : undefined,
      healthFile: e.AP_WORKER_HEALTH_FILE ? path.resolve(e.AP_WORKER_HEALTH_FILE) : undefined,
      security,
    },
    masterKey: e.AP_MASTER_KEY,
    retentionDays: e.AP_RETENTION_DAYS,
    codecCorsOrigins: e.AP_CODEC_CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
    previousMasterKeys: e.AP_PREVIOUS_MASTER_KEYS?.split(',').map((k) => k.trim()) ?? [],
    allowPrivateNetwork: e.AP_ALLOW_PRIVATE_NETWORK,
    dnsServers,
    adminKey: e.AP_ADMIN_KEY,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    tracing: { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME },
    webhookRetrySchedule: e.AP_WEBHOOK_RETRY_SCHEDULE?.split(',').map(Number),
    limits: {
      ratePerMinute: e.AP_RATE_LIMIT_PER_MINUTE,
      maxActiveRuns: e.AP_MAX_ACTIVE_RUNS,
      tokenBudget: e.AP_TOKEN_BUDGET,
      workspaceRatePerMinute: e.AP_WORKSPACE_RATE_LIMIT_PER_MINUTE,
      longRequestsPerKey: e.AP_MAX_LONG_REQUESTS_PER_KEY,
    },
    metricsCacheSeconds: e.AP_METRICS_CACHE_SECONDS,
    dbPoolSize: e.AP_DB_POOL_SIZE,
    maxFileBytes: e.AP_MAX_FILE_BYTES,
    uploads: { bodyTimeoutMs: e.AP_UPLOAD_BODY_TIMEOUT_MS, perKey: e.AP_UPLOADS_PER_KEY },
    modelCardProbeTimeoutMs: e.AP_MODEL_CARD_PROBE_TIMEOUT_MS,
    production,
    trustProxy: trustProxySetting(e.AP_TRUST_PROXY),
    client: { url: e.AP_URL, apiKey: e.AP_API_KEY },
  };
}

function trustProxySetting(v: string | undefined): boolean | number | string {
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  return /^\d+$/.test(v) ? Number(v) : v;
}
