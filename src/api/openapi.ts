// /openapi.json: OpenAPI 3.1, generated from the route registry, i.e. from the same zod schemas that
// validate each request. Response bodies are described by their object type; errors by the one shape.
import { z } from 'zod';
import { agentObjectSchema, approvalObjectSchema, runObjectSchema, sessionObjectSchema, toolObjectSchema } from '../domain/api-objects';
import { RUN_EVENT_DATA, runDeltaSchema, runEventSchema } from '../domain/run-event';
import type { ResponseDoc, RouteDoc } from './route';

// The published schemas (src/domain/run-event.ts, api-objects.ts) and those they refer to carry a meta id
// in zod's global registry: each becomes one entry of components.schemas.
const REF = (id: string): string => `#/components/schemas/${id}`;

/** components.schemas from the zod registry: RunEvent is a oneOf with a discriminator on `type`. */
function componentSchemas(): Record<string, unknown> {
  void [runEventSchema, runDeltaSchema, runObjectSchema, sessionObjectSchema, approvalObjectSchema, agentObjectSchema, toolObjectSchema]; // registered on import
  const out = z.toJSONSchema(z.globalRegistry, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any', uri: REF }) as { schemas: Record<string, Record<string, unknown>> };
  for (const schema of Object.values(out.schemas)) {
    delete schema.$schema;
    delete schema.$id;
    open(schema);
  }
  const event = out.schemas.RunEvent!;
  const variants = (event.oneOf ?? event.anyOf) as unknown[];
  delete event.anyOf;
  event.oneOf = variants;
  event.discriminator = { propertyName: 'type', mapping: Object.fromEntries(Object.keys(RUN_EVENT_DATA).map((type, i) => [type, (variants[i] as { $ref?: string }).$ref ?? ''])) };
  return out.schemas;
}

/** Response objects are open, as the catalogue says: a client must accept fields added later. */
function open(schema: unknown): void {
  if (Array.isArray(schema)) return schema.forEach(open);
  if (!schema || typeof schema !== 'object') return;
  const o = schema as Record<string, unknown>;
  if (o.additionalProperties === false) delete o.additionalProperties;
  Object.values(o).forEach(open);
}

function responseSchema(doc: ResponseDoc | undefined): Record<string, unknown> {
  if (!doc) return { type: 'object' };
  const ref = (schema: z.ZodType) => ({ $ref: REF(z.globalRegistry.get(schema)!.id!) });
  if ('object' in doc) return ref(doc.object);
  return {
    type: 'object',
    required: ['object', 'data', 'has_more'],
    properties: { object: { const: 'list' }, data: { type: 'array', items: ref(doc.list) }, has_more: { type: 'boolean' } },
  };
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['type', 'code', 'message'],
      properties: { type: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' }, param: { type: 'string' }, request_id: { type: 'string' } },
    },
  },
};

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const s = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

function queryParameters(schema: z.ZodType | undefined): unknown[] {
  if (!schema) return [];
  const s = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, sch]) => ({ name, in: 'query', required: (s.required ?? []).includes(name), schema: sch }));
}

export function buildOpenApi(routes: RouteDoc[], extra: RouteDoc[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of [...extra, ...routes]) {
    const path = r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const params = [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const ok = String(r.status ?? (r.method === 'post' ? 200 : 200));
    const content: Record<string, unknown> = { 'application/json': { schema: responseSchema(r.response) } };
    if (r.sse) {
      content['text/event-stream'] = {
        schema: { type: 'string', description: 'Server-Sent Events (API.md 3.2): each stored event is `id: <seq>`, `event: <type>`, `data: <RunEvent JSON>`; a token delta is `event: message.delta`, `data: <RunDelta JSON>`' },
        ...(r.response && 'list' in r.response && r.response.list === runEventSchema ? { 'x-item-schema': { oneOf: [{ $ref: REF('RunEvent') }, { $ref: REF('RunDelta') }] } } : {}),
      };
    }
    // Unversioned routes with roles (/metrics, /codec) take an API key too.
    const authed = (r.path.startsWith('/v1') || r.roles.length > 0 || r.operator === true) && !r.public;
    const idempotent = r.path.startsWith('/v1') && r.method === 'post';
    (paths[path] ??= {})[r.method] = {
      operationId: `${r.method}${r.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      ...(r.summary ? { summary: r.summary } : {}),
      ...(authed ? { description: `Roles: ${['admin', ...r.roles].join(', ')}${r.operator ? ' (keys of the default workspace only)' : ''}.${idempotent ? ' Accepts Idempotency-Key: a stored response is replayed only to the API key that made it (another key: 422 idempotency_key_reused).' : ''}` } : {}),
      ...(authed ? { 'x-roles': ['admin', ...r.roles] } : {}),
      ...(r.operator ? { 'x-operator-only': true } : {}),
      parameters: [...params, ...queryParameters(r.query)],
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } } : {}),
      ...(r.multipart ? { requestBody: { required: true, content: { 'multipart/form-data': { schema: jsonSchema(r.multipart) } } } } : {}),
      responses: {
        [ok]: { description: 'Success', content },
        default: { description: 'Error (API.md 1.2)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
      ...(authed ? {} : { security: [] }),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Agent Platform API', version: '1.0.0', description: 'Durable, governed AI agents on Temporal. Contract: API.md. Browser sessions of /dashboard authenticate with the HttpOnly `ap_session` cookie instead of a header; such a request that changes state must also send the session\'s `X-CSRF-Token` and come from this origin, else 403 `csrf_failed`. Limits (429 `rate_limited` with Retry-After): requests per minute per API key and per workspace (all its keys together; an operator-set `rate_limit_per_minute` bounds the workspace), counted across API processes; and at most AP_MAX_LONG_REQUESTS_PER_KEY long-lived requests (event streams, `wait: true` or `stream: true` creates, chat completions) open per API key on each API process.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { apiKey: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' }, dashboardSession: { type: 'apiKey', in: 'cookie', name: 'ap_session' } },
      schemas: { Error: ERROR_SCHEMA, ...componentSchemas() },
    },
    paths,
  };
}
