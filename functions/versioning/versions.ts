/** /versioning/versions: tag a new version of an artifact (POST), or list an artifact's versions (GET). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { versioningDeps, versioningStore } from '../../lib/adapters/aws/versioning-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { listVersions, tagVersion } from '../../lib/versioning/engine.ts';
import { listRoute, tagRoute } from '../../lib/versioning/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(tagRoute, async (params, ctx) => {
    const { view, proposal, ledger } = await tagVersion(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', versioningDeps(ctx.now()));
    ctx.log(
      `${params.artifact} ${view.version} (${view.bump}${view.breaking ? ', breaking' : ''}): ${view.changes.length} change(s), hash ${view.hash.slice(0, 12)}, tagged in ${view.tagMs} ms${proposal ? `, proposal ${proposal.proposalId} ${proposal.status}` : ''}`,
    );
    return { result: { ...view, ...(proposal ? { proposalId: proposal.proposalId } : {}) }, ...(ledger ? { ledger } : {}) };
  }),
  route(listRoute, async (params, ctx) => ({ result: await listVersions(ctx.tenant, params.artifact, { store: versioningStore() }) })),
);
