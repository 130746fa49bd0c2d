// What the bench's one-off scripts (cpu-per-run.ts, timeline.ts) share: the bench's stack in a directory of
// its own under .data/<name>/, the local provider and tool target, the bench's agents, and the teardown.
import path from 'node:path';
import { startStack, type Stack } from './stack';
import { startProvider } from './provider';
import { Http, define, startToolTarget } from './platform';

export interface ScriptCtx {
  stack: Stack;
  provider: Awaited<ReturnType<typeof startProvider>>;
  tools: Awaited<ReturnType<typeof startToolTarget>>;
  admin: Http;
  developer: Http;
}

export function benchScript(name: string, body: (c: ScriptCtx) => Promise<void>): void {
  const main = async (): Promise<void> => {
    const stack = await startStack(path.resolve(__dirname, '..', '.data', name, new Date().toISOString().replace(/[:.]/g, '-')));
    const provider = await startProvider();
    const tools = await startToolTarget();
    try {
      const admin = new Http(stack.apiUrl, stack.adminKey);
      const { developer } = await define(admin, provider.baseUrl, tools.url);
      await body({ stack, provider, tools, admin, developer });
    } finally {
      await tools.close();
      await provider.close();
      await stack.stop();
    }
  };
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
