/**
 * /governance/constitution: publish a new version (PUT, admin: stored in S3, its SHA-256 in the
 * settings and the ledger; actuation locks), ratify it (POST, admins other than the author, until the
 * quorum), read it (GET).
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getText } from '../../lib/adapters/aws/audit-objects.ts';
import { s3Client } from '../../lib/adapters/aws/clients.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { mappedSend } from '../../lib/adapters/aws/errors.ts';
import { governanceOutbox, governanceStore } from '../../lib/adapters/aws/governance-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { config } from '../../lib/config.ts';
import { ConflictError } from '../../lib/errors.ts';
import { constitutionKey, proposeConstitution, ratifyConstitution } from '../../lib/governance/constitution.ts';
import { getConstitutionRoute, putConstitutionRoute, ratifyConstitutionRoute } from '../../lib/governance/routes.ts';
import { updateSettings } from '../../lib/governance/settings.ts';

const bucket = config().ARTIFACTS_BUCKET;
const s3 = mappedSend(s3Client(), 'S3');

export const handler = engineHandler(
  engineDeps(),
  route(getConstitutionRoute, async (_params, ctx) => {
    const constitution = (await governanceStore().settings(ctx.tenant)).constitution;
    const text = constitution ? await getText(s3, bucket, constitution.key) : undefined;
    return { result: { ...(constitution ? { constitution } : {}), ...(text !== undefined ? { text } : {}) } };
  }),
  route(putConstitutionRoute, async (params, ctx) => {
    const actor = ctx.principal?.subject ?? 'unknown';
    const now = ctx.now();
    const hash = createHash('sha256').update(params.text, 'utf8').digest('hex');
    const deps = { store: governanceStore(), outbox: governanceOutbox(), now };
    // The document first (content under its version's key), then the settings that point to it.
    const current = await deps.store.settings(ctx.tenant);
    const version = (current.constitution?.version ?? 0) + 1;
    await s3(new PutObjectCommand({ Bucket: bucket, Key: constitutionKey(ctx.tenant, version), Body: params.text, ContentType: 'text/markdown; charset=utf-8' }));
    const { after } = await updateSettings(
      ctx.tenant,
      (settings) => {
        // Another admin published this version meanwhile: its object may hold their text, not ours.
        if ((settings.constitution?.version ?? 0) + 1 !== version) throw new ConflictError(`Constitution v${version} was published concurrently; read it and publish again`);
        return proposeConstitution(settings, { hash, actor, now });
      },
      deps,
    );
    ctx.log(`constitution v${after.constitution?.version} (${hash}) waits for ${after.config.constitutionQuorum} admin(s) to ratify it`);
    return { status: 'pending', statusCode: 202, result: after.constitution ?? (undefined as never) };
  }),
  route(ratifyConstitutionRoute, async (params, ctx) => {
    const actor = ctx.principal?.subject ?? 'unknown';
    const now = ctx.now();
    const { after } = await updateSettings(ctx.tenant, (settings) => ratifyConstitution(settings, { version: params.version, actor, now }), {
      store: governanceStore(),
      outbox: governanceOutbox(),
      now,
    });
    const constitution = after.constitution ?? (undefined as never);
    return { status: constitution.ratified ? 'success' : 'pending', statusCode: constitution.ratified ? 200 : 202, result: constitution };
  }),
);
