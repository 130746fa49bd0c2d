// /v1/imports (API.md 16): an agent bundle (GET /v1/agents/:id/export) created or updated by name. Admin only.
import type { Router } from 'express';
import { importCreateSchema, importResultSchema } from '../../domain/agent-bundle';
import * as svc from '../../services/agent-bundles';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, defineRoutes, type RouteDoc } from '../route';

export function importRoutes({ db, config }: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);
  r.post(
    '/imports',
    {
      // One record for a real import (with what it changed); a dry run stores nothing, not even that.
      audit: (body) => (body.dry_run ? undefined : 'agent.import'),
      roles: ADMIN_ONLY,
      body: importCreateSchema,
      response: { object: importResultSchema },
      summary:
        'Creates or updates the bundle\'s tools (replaced as a whole) and agent (a new version) by name, in one transaction; "unchanged" when equal. ' +
        'dry_run: true answers the same diff with applied: false and stores nothing (no audit record). ' +
        '400 import_missing_dependencies, with error.missing {model_cards, vault, skills, memory_stores, connections}, when the workspace lacks any',
    },
    async ({ p, body, audit }) => {
      const result = await svc.importBundle(db, p, body.bundle, body.dry_run, config.allowPrivateNetwork);
      await audit(body.bundle.agent.name, { changes: result.changes });
      return result;
    },
  );
  return r.router;
}
