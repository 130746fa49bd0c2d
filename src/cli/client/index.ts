// Client commands (OPERATIONS.md): `ap runs ...` and `ap approvals ...` talk to the HTTP API (AP_URL,
// AP_API_KEY) like any other client. Tables for people by default, `--json` for scripts.
import type { Command } from 'commander';
import { approvalsCommands } from './approvals';
import { runsCommands } from './runs';

export function clientCommands(program: Command): void {
  runsCommands(program);
  approvalsCommands(program);
}
