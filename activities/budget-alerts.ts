// Budget alerts (API.md 16): when a run ends, `budget.threshold_reached` for each threshold of the
// workspace's monthly token budget that its spend has reached, once per threshold and period. The
// budget_alerts row (unique per workspace, period, threshold) and the deliveries commit together.
import { transaction } from '../src/db/pool';
import * as usage from '../src/db/usage';
import { unattemptedDeliveries } from '../src/db/webhooks';
import { limitsOf, tokenBudgetOf, tokensBetween } from '../src/core/budgets';
import { budgetPeriod, reachedThresholds } from '../src/domain/usage-report';
import type { Logger } from 'pino';
import type { Config } from '../src/config';
import type { Db } from '../src/db/pool';
import { enqueueWebhooks, messageIdFor } from './webhooks';

/**
 * Checks the workspace's budget for the current period and enqueues the alerts it has newly reached;
 * returns the deliveries to start (after this commit). A retry (the run's final batch stored again)
 * finds the alert recorded and returns its deliveries not yet attempted, so a start lost between the
 * commit and the start is made then. Nothing is summed for a workspace without a budget.
 */
export async function budgetAlerts(db: Db, config: Config, log: Logger, workspaceId: string, now = new Date()): Promise<string[]> {
  const budget = tokenBudgetOf(await limitsOf(db, workspaceId), config);
  if (budget === undefined) return [];
  const { period, start, end } = budgetPeriod(now);
  const spent = await tokensBetween(db, workspaceId, start, end);
  const reached = reachedThresholds(spent, budget);
  if (reached.length === 0) return [];
  return transaction(db, async (c) => {
    const deliveries: string[] = [];
    for (const threshold of reached) {
      const message_id = messageIdFor('budget.threshold_reached', workspaceId, period, threshold);
      if (!(await usage.insertBudgetAlert(c, { workspace_id: workspaceId, period, threshold, budget, spent }))) {
        deliveries.push(...(await unattemptedDeliveries(c, workspaceId, message_id)));
        continue;
      }
      log.info({ period, threshold, budget, spent }, 'budget threshold reached');
      const data = { workspace_id: workspaceId, period, period_start: start.toISOString(), period_end: end.toISOString(), unit: 'tokens', budget, spent, threshold };
      deliveries.push(...(await enqueueWebhooks(c, workspaceId, [{ type: 'budget.threshold_reached', message_id, data }])));
    }
    return deliveries;
  });
}
