// /openapi.json: a valid OpenAPI 3.1 document (checked by an independent validator) that lists every
// route the Express app registers, with request bodies from the zod schemas that validate them.
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { createSecretBox } from '../../src/security/secrets';
import { createEventBus } from '../../src/services/event-bus';
import { connectClient } from '../../src/temporal/connection';
import { EncryptionCodec } from '../../src/temporal/codec';
import { env } from '../support/api';

// Counts how often the document is built (issue 17 item 10: it took ~37 ms of event loop per request).
const built = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../src/api/openapi', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/api/openapi')>();
  return { ...original, buildOpenApi: (...args: Parameters<typeof original.buildOpenApi>) => (built.count++, original.buildOpenApi(...args)) };
});

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  /** Express 5 keeps a mounted router's path as the raw path given to app.use(). */
  rawPath?: string;
}

/** Every (method, path) that Express will dispatch, walking nested routers with their mount paths. */
function expressRoutes(stack: Layer[], prefix = ''): string[] {
  const out: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      for (const m of Object.keys(layer.route.methods)) out.push(`${m} ${prefix}${layer.route.path}`);
    } else if (layer.handle?.stack) {
      const mount = layer.rawPath && layer.rawPath !== '/' ? layer.rawPath : '';
      out.push(...expressRoutes(layer.handle.stack, `${prefix}${mount}`));
    }
  }
  return out;
}

describe('/openapi.json', () => {
  it('is valid OpenAPI 3.1 and served without a key', async () => {
    const res = await fetch(`${env().apiUrl}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, any> };
    expect(doc.openapi).toBe('3.1.0');
    // An ES module; this package is CommonJS.
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const create = doc.paths['/v1/runs'].post;
    expect(create.requestBody.content['application/json'].schema.properties).toHaveProperty('input');
    expect(create.requestBody.content['application/json'].schema.required).toContain('agent');
  });

  it('lists every route registered in Express; built once when the app is composed, not per request', async () => {
    const e = env();
    const config = loadConfig({ DATABASE_URL: e.databaseUrl, TEMPORAL_ADDRESS: e.temporalAddress, AP_MASTER_KEY: e.masterKey });
    const db = createPool(e.databaseUrl, 1);
    const temporal = await connectClient(e.temporalAddress, e.namespace, [Buffer.from(e.masterKey, 'base64')]);
    const log = pino({ level: 'silent' });
    const bus = createEventBus(e.databaseUrl, log);
    try {
      const builtBefore = built.count;
      const app = createApp({ db, config, secrets: createSecretBox([Buffer.from(e.masterKey, 'base64')]), log, temporal, bus, codec: new EncryptionCodec([Buffer.from(e.masterKey, 'base64')]) });
      expect(built.count - builtBefore).toBe(1);
      const registered = expressRoutes((app as unknown as { router: { stack: Layer[] } }).router.stack);
      expect(registered.length).toBeGreaterThan(40);
      const doc = (await (await fetch(`${e.apiUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
      const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
        Object.keys(ops).map((m) => `${m} ${p.replace(/\{([A-Za-z_]+)\}/g, ':$1')}`),
      );
      expect(registered.filter((r) => !documented.includes(r))).toEqual([]);

      // This app serves the document it built when it was composed, however many requests ask.
      const before = built.count;
      const server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      try {
        const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/openapi.json`;
        const bodies = await Promise.all(Array.from({ length: 5 }, async () => (await fetch(url)).text()));
        expect(new Set(bodies).size).toBe(1);
        expect(JSON.parse(bodies[0]!).paths).toEqual(doc.paths);
        expect(built.count - before).toBe(0);
      } finally {
        await new Promise((r) => server.close(r));
      }
    } finally {
      await bus.close();
      await temporal.connection.close();
      await db.end();
    }
  });
});
