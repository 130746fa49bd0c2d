// The error-code catalogue (src/domain/error-codes.ts) is what the code throws, what docs/errors.md
// publishes, and what API.md 1.2 promises: a code thrown but not catalogued, or catalogued but not
// published, fails here.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../src/domain/error-codes';
import { PlatformError, RUN_CANCELED, RUN_ERROR } from '../../src/domain/errors';
import { httpStatus, statusOfCode } from '../../src/api/error-status';

const ROOT = path.resolve(__dirname, '../..');
const DOC = path.join(ROOT, 'docs/errors.md');
const codes = Object.keys(ERROR_CODES) as ErrorCode[];

/** The text between `<!-- name:begin ... -->` and `<!-- name:end -->`. */
function section(doc: string, name: string): string {
  const m = new RegExp(`<!-- ${name}:begin[^>]*-->\\n([\\s\\S]*?)<!-- ${name}:end -->`).exec(doc);
  if (!m) throw new Error(`docs/errors.md has no ${name} section`);
  return m[1]!;
}

const tableRow = (code: ErrorCode): string => `| \`${code}\` | ${statusOfCode(code)} | ${ERROR_CODES[code].type} | ${ERROR_CODES[code].when} |`;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((f) => {
    const rel = path.join(dir, f.name);
    if (f.isDirectory()) return sourceFiles(rel);
    return f.isFile() && f.name.endsWith('.ts') ? [rel] : [];
  });
}
const SOURCES = [...sourceFiles('src'), ...sourceFiles('activities')].map((f) => ({ file: f, text: fs.readFileSync(path.join(ROOT, f), 'utf8') }));

describe('error-code catalogue', () => {
  it('docs/errors.md lists exactly the catalogue, with each code\'s status, type and description', () => {
    const published = section(fs.readFileSync(DOC, 'utf8'), 'error-codes');
    const documented = [...published.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]!);
    expect({ missing_from_doc: codes.filter((c) => !documented.includes(c)), not_in_catalogue: documented.filter((c) => !(c in ERROR_CODES)) })
      .toEqual({ missing_from_doc: [], not_in_catalogue: [] });
    // On a difference, paste the expected table into docs/errors.md.
    expect(published).toBe(['| code | status | type | when |', '|---|---|---|---|', ...codes.map(tableRow), ''].join('\n'));
  });

  it('docs/errors.md lists the run codes a failed chat completion answers with', () => {
    const listed = [...section(fs.readFileSync(DOC, 'utf8'), 'run-codes').matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    expect(listed).toEqual([...Object.keys(RUN_ERROR), RUN_CANCELED]);
  });

  it('every code thrown in src/ and activities/ is in the catalogue, and every catalogue code is thrown', () => {
    const thrown = new Map<string, string>();
    for (const { file, text } of SOURCES) {
      for (const m of text.matchAll(/new PlatformError\(\s*'([a-z_]+)'/g)) thrown.set(m[1]!, file);
    }
    expect([...thrown].filter(([code]) => !(code in ERROR_CODES)).map(([code, file]) => `${code} (${file})`)).toEqual([]);
    // A code may also be passed as a variable (core/oauth.ts): then its literal appears elsewhere in src.
    const named = (code: string) => SOURCES.some(({ file, text }) => file !== 'src/domain/error-codes.ts' && text.includes(`'${code}'`));
    expect(codes.filter((c) => !named(c))).toEqual([]);
  });

  it('below src/api nothing names an HTTP status for an error', () => {
    const offenders = SOURCES.filter(({ file }) => !file.startsWith('src/api/'))
      .filter(({ text }) => /PlatformError\(\s*\d|\bApiError\b|error-status'/.test(text))
      .map(({ file }) => file);
    expect(offenders).toEqual([]);
  });

  it('keeps the statuses and types of API.md 1.2', () => {
    const contract: Record<string, [number, string]> = {
      validation_failed: [400, 'invalid_request_error'], invalid_json: [400, 'invalid_request_error'],
      unknown_tool: [400, 'invalid_request_error'], invalid_tool_arguments: [400, 'invalid_request_error'],
      missing_api_key: [401, 'authentication_error'], invalid_api_key: [401, 'authentication_error'],
      budget_exceeded: [402, 'budget_error'],
      permission_denied: [403, 'permission_error'], agent_disabled: [403, 'permission_error'],
      self_approval_forbidden: [403, 'permission_error'], private_network_blocked: [403, 'permission_error'],
      not_found: [404, 'not_found_error'],
      idempotency_in_progress: [409, 'conflict_error'], session_busy: [409, 'conflict_error'], run_not_active: [409, 'conflict_error'],
      approval_already_decided: [409, 'conflict_error'], tool_call_already_resolved: [409, 'conflict_error'],
      payload_too_large: [413, 'invalid_request_error'],
      idempotency_key_reused: [422, 'invalid_request_error'],
      rate_limited: [429, 'rate_limit_error'], too_many_active_runs: [429, 'rate_limit_error'],
      temporal_unavailable: [503, 'api_error'], database_unavailable: [503, 'api_error'],
    };
    for (const [code, [status, type]] of Object.entries(contract)) {
      const err = new PlatformError(code as ErrorCode, 'x');
      expect({ code, status: httpStatus(err), type: err.type }).toEqual({ code, status, type });
    }
  });
});
