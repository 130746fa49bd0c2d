// The layering lint (eslint.config.mjs, issue 19): each arrow's rule fires on a deliberate violation, and
// the same file with the import pointing down (or type-only, as arrows.py counts them) passes. So does the
// engine door: a workflow is reached only through src/temporal/engine.ts.
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
// The virtual files below are in no TypeScript project: the type-aware rules are off for them.
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: [
    {
      languageOptions: { parserOptions: { projectService: false, project: null } },
      rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
    },
  ],
});

async function messages(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layering lint', () => {
  it.each([
    ['src/services/x.ts', "import { openSse } from '../api/sse';\nexport const f = openSse;\n", /Services sit below the API/],
    ['src/db/x.ts', "import { freePort } from '../temporal/dev-server';\nexport const f = freePort;\n", /src\/db sits below/],
    ['src/db/x.ts', "import { getRun } from '../services/runs';\nexport const f = getRun;\n", /src\/db sits below/],
    ['src/domain/x.ts', "import fs from 'node:fs';\nexport const f = fs;\n", /no Node built-ins/],
    ['src/domain/x.ts', "import { Pool } from 'pg';\nexport const f = Pool;\n", /no I\/O libraries/],
    ['src/domain/x.ts', "import { pool } from '../db/pool';\nexport const f = pool;\n", /imports only src\/domain/],
    ['workflows/x.ts', "import { getRun } from '../src/db/runs';\nexport const f = getRun;\n", /may import only src\/domain/],
    ['src/api/x.ts', "import { isConnectionError } from '../db/pool';\nexport const f = isConnectionError;\n", /only through src\/services/],
    ['src/api/routes/x.ts', "import { listAudit } from '../../db/audit';\nexport const f = listAudit;\n", /only through src\/services/],
    ['activities/x.ts', "import { startCaseRun } from '../src/services/evals';\nexport const f = startCaseRun;\n", /Activities sit below services/],
    ['activities/x.ts', "import { openSse } from '../src/api/sse';\nexport const f = openSse;\n", /Activities sit below services/],
    ['src/core/x.ts', "import { getRun } from '../services/runs';\nexport const f = getRun;\n", /src\/core sits below/],
    ['src/core/x.ts', "import { createApp } from '../api/app';\nexport const f = createApp;\n", /src\/core sits below/],
    ['src/core/x.ts', "import { createActivities } from '../../activities';\nexport const f = createActivities;\n", /src\/core sits below/],
    ['src/db/x.ts', "import { loadSkill } from '../core/skills';\nexport const f = loadSkill;\n", /src\/db sits below/],
    ['src/services/x.ts', "import type { Client } from '@temporalio/client';\nexport const f = (c: Client) => c.workflow.getHandle('run_1').cancel();\n", /Go through the engine/],
    ['activities/x.ts', "import type { Client } from '@temporalio/client';\nexport const f = (c: Client) => c.workflow.start('runWorkflow', { taskQueue: 'q', workflowId: 'w' });\n", /Go through the engine/],
    ['src/api/x.ts', "export const f = (deps: { temporal: { workflow: { getHandle(id: string): unknown } } }) => deps.temporal.workflow.getHandle('w');\n", /Go through the engine/],
  ])('%s: %s is refused', async (file, code, why) => {
    const found = await messages(file, code);
    expect(found.some((m) => why.test(m)), found.join('\n')).toBe(true);
  });

  it.each([
    ['src/services/x.ts', "import type { RouteDoc } from '../api/route';\nexport type T = RouteDoc;\n"],
    ['src/services/x.ts', "import { getRun } from '../db/runs';\nexport const f = getRun;\n"],
    ['src/db/x.ts', "import type { RunView } from '../services/runs';\nexport type T = RunView;\n"],
    ['src/domain/x.ts', "import { z } from 'zod';\nimport { RUN_STATUSES } from './run';\nexport const f = [z, RUN_STATUSES];\n"],
    ['src/api/x.ts', "import type { Db } from '../db/pool';\nimport { recordAudit } from '../services/audit';\nexport const f = recordAudit;\nexport type T = Db;\n"],
    ['activities/x.ts', "import type { RunDeps } from '../src/services/runs';\nimport { loadSkill } from '../src/core/skills';\nexport const f = loadSkill;\nexport type T = RunDeps;\n"],
    ['src/core/x.ts', "import type { ServiceDeps } from '../services/deps';\nimport { getRun } from '../db/runs';\nexport const f = getRun;\nexport type T = ServiceDeps;\n"],
    ['src/services/x.ts', "import { loadRunContext } from '../core/run-context';\nexport const f = loadRunContext;\n"],
    ['src/services/x.ts', "import type { Client } from '@temporalio/client';\nimport { engineOf } from '../temporal/engine';\nexport const f = (c: Client) => engineOf(c).cancel('run_1');\n"],
  ])('%s: an import that points down (or only a type) passes', async (file, code) => {
    expect(await messages(file, code)).toEqual([]);
  });
});
