// Client commands (OPERATIONS.md): `ap runs`, `ap approvals`, `ap agents`, `ap sessions` and `ap usage` talk to the
// HTTP API (AP_URL, AP_API_KEY) like any other client. Tables for people by default, `--json` for scripts.
import type { Command } from 'commander';
import { agentsCommands } from './agents';
import { approvalsCommands } from './approvals';
import { runsCommands } from './runs';
import { sessionsCommands } from './sessions';
import { usageCommands } from './usage';

export function clientCommands(program: Command): void {
  runsCommands(program);
  approvalsCommands(program);
  agentsCommands(program);
  sessionsCommands(program);
  usageCommands(program);
}
