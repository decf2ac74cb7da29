/**
 * /gateway/templates: the tenant's own prompt templates: define or replace one (PUT, checked first,
 * versioned, its change recorded in the ledger), list them with the built-ins or read one (GET),
 * delete one (DELETE).
 */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { gatewayTemplates } from '../../lib/adapters/aws/gateway-deps.ts';
import { stageOutbox } from '../../lib/adapters/aws/stage-outbox.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { deleteTemplateRoute, getTemplatesRoute, putTemplateRoute } from '../../lib/gateway/routes.ts';
import { defineTenantTemplate, deleteTenantTemplate, listTemplates, readTemplate } from '../../lib/gateway/tenant-templates.ts';

export const handler = engineHandler(
  engineDeps(),
  route(putTemplateRoute, async (params, ctx) => {
    const outcome = await defineTenantTemplate(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', {
      store: gatewayTemplates(),
      outbox: stageOutbox(),
      now: ctx.now(),
    });
    ctx.log(
      `template ${outcome.name} ${outcome.change}: v${outcome.previousVersion} → v${outcome.version} (${outcome.hash.slice(0, 12)}…)`,
    );
    return { result: outcome };
  }),
  route(getTemplatesRoute, async (params, ctx) => ({
    result: {
      templates: params.name
        ? [await readTemplate(ctx.tenant, params.name, params.source, gatewayTemplates())]
        : await listTemplates(ctx.tenant, gatewayTemplates()),
    },
  })),
  route(deleteTemplateRoute, async (params, ctx) => {
    const outcome = await deleteTenantTemplate(
      ctx.tenant,
      params.name,
      ctx.principal?.subject ?? 'unknown',
      { store: gatewayTemplates(), outbox: stageOutbox(), now: ctx.now() },
      params.ifVersion,
    );
    ctx.log(`template ${outcome.name} deleted (v${outcome.previousVersion}, revision ${outcome.version})`);
    return { result: outcome };
  }),
);
