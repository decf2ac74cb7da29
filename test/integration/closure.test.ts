/**
 * The Closure engine on the local cloud: a component without dependents terminated after k-of-n
 * approval through /governance/approvals (the archive object read back from S3 with its retention
 * class, the API key it held answering 401, its registry entry gone, the final ledger entry in a
 * verifying stream); a target with live dependents refused (409 naming them, nothing written); a
 * kill switch refusing the request; a bad request writing nothing. Each case is its own tenant.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { canonicalHash } from '../../lib/audit/digest.ts';
import type { Role } from '../../lib/auth/roles.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

const s3 = new S3Client({ forcePathStyle: true });
after(() => s3.destroy());

async function as(tenant: string, subject: string, roles: Role[], method: string, path: string, body?: unknown) {
  const token = await tokenFor({ tenant, subject, roles });
  return api(method, path, {
    auth: 'none',
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: { parameters: body } }),
  });
}

/** A registry of web → api → db, and a standalone exporter. */
async function register(tenant: string) {
  const reply = await as(tenant, 'alice', ['operator'], 'PUT', '/reflex/components', {
    components: [
      { id: 'web', kind: 'service', dependsOn: ['api'] },
      { id: 'api', kind: 'lambda', dependsOn: ['db'] },
      { id: 'db', kind: 'database' },
      { id: 'exporter', kind: 'lambda' },
    ],
  });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
}

async function status(tenant: string, terminationId?: string) {
  const reply = await as(tenant, 'viewer', ['viewer'], 'GET', `/closure/status${terminationId ? `?terminationId=${terminationId}` : ''}`);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body.result.terminations;
}

describe('closure on the local cloud', { concurrency: true }, () => {
  it('terminates a component without dependents after k-of-n approval: archived, its key revoked, deregistered, proved in the ledger', async () => {
    const tenant = freshTenant('cl');
    await register(tenant);
    // Lambdas' archives are kept 400 days: the smallest retention class that long is 545 days.
    const policy = await as(tenant, 'admin', ['admin'], 'PUT', '/closure/policies', { kinds: { lambda: { retentionDays: 400 } } });
    assert.equal(policy.status, 200, JSON.stringify(policy.body));
    const key = await as(tenant, 'admin', ['admin'], 'POST', '/identity/keys', { name: 'exporter#writer', roles: ['viewer'] });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const apiKey = key.body.result.apiKey as string;
    assert.equal((await api('GET', '/closure/status', { apiKey })).status, 200);

    const requested = await as(tenant, 'alice', ['operator'], 'POST', '/closure/terminations', {
      target: 'exporter',
      reason: 'replaced by v2',
    });
    assert.equal(requested.status, 202, JSON.stringify(requested.body));
    const { termination, proposal } = requested.body.result;
    assert.deepEqual(
      termination.plan.steps.map((s: { kind: string }) => s.kind),
      ['archive', 'revoke', 'deregister', 'record'],
    );
    assert.equal(proposal.route, 'human-approval');
    assert.equal(proposal.required, 2);
    const approvalId = `approval-${proposal.proposalId}`;
    await eventually(`approval ${approvalId} to open`, async () => {
      const listed = await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/approvals');
      return listed.body.result?.approvals?.some((entry: { approvalId: string }) => entry.approvalId === approvalId) ? true : undefined;
    });
    const vote = (subject: string) =>
      as(tenant, subject, ['approver'], 'POST', '/governance/approvals', {
        approvalId,
        decision: 'approve',
        reason: 'exporter unused since v2',
      });
    assert.equal((await vote('bob')).status, 200);
    assert.equal((await vote('bob')).status, 409, 'one identity counts once');
    assert.equal((await status(tenant, termination.terminationId))[0].status, 'pending', 'one approval of two');
    const approvedAt = Date.now();
    assert.equal((await vote('agent:sre')).status, 200);
    // On a timeout, say where it stood: still pending (the gate or the settled event), or which step it reached.
    let seen = 'nothing read';
    const done = await eventually(
      'the termination to end',
      async () => {
        const [current] = await status(tenant, termination.terminationId);
        seen = `${current.status} after ${current.steps.map((s: { kind: string; outcome: string }) => `${s.kind}:${s.outcome}`).join(', ') || 'no step'}`;
        return ['terminated', 'failed', 'halted', 'rejected'].includes(current.status) ? current : undefined;
      },
      30_000,
      200,
    ).catch((error: Error) => {
      throw new Error(`${error.message} (last seen: ${seen})`);
    });
    const observedMs = Date.now() - approvedAt;
    assert.equal(done.status, 'terminated', JSON.stringify(done.reasons));
    assert.deepEqual([...done.approvers].sort(), ['agent:sre', 'bob']);
    assert.ok(observedMs < 30_000, `terminated ${observedMs} ms after the approval`);
    console.log(
      `closure: terminated ${observedMs} ms after the last approval (engine's own ${done.terminationMs} ms from the proposal's approval to the final record)`,
    );

    const object = await s3.send(new GetObjectCommand({ Bucket: testCloud().resources.buckets.ArtifactsBucket, Key: done.archiveKey }));
    const archive = JSON.parse(await (object.Body as { transformToString(): Promise<string> }).transformToString());
    assert.equal(canonicalHash(archive.manifest), done.manifestHash);
    assert.deepEqual(
      archive.manifest.components.map((c: { id: string }) => c.id),
      ['exporter'],
    );
    assert.equal(archive.manifest.keys[0].name, 'exporter#writer');
    // The retention the object is tagged with (the local cloud's S3 keeps no tags; test/unit/closure-retention.test.ts
    // checks the tag on the wire, test/unit/template.test.ts the bucket's rule for it).
    assert.deepEqual(archive.manifest.lifecycle, { tag: 'autonomy-retention=closure-archive-545d', expireAfterDays: 545 });
    assert.equal(Date.parse(archive.manifest.retainUntil) - Date.parse(archive.manifest.archivedAt), 400 * 86_400_000);

    assert.equal((await api('GET', '/closure/status', { apiKey })).status, 401);
    const registry = await as(tenant, 'viewer', ['viewer'], 'GET', '/reflex/components');
    assert.deepEqual(registry.body.result.components.map((c: { id: string }) => c.id).sort(), ['api', 'db', 'web']);

    const events = await eventually('the final record in the ledger', async () => {
      const recorded = await ledgerEvents(tenant, 'closure');
      return recorded.some((e) => e.detailType === 'closure.termination.completed') ? recorded : undefined;
    });
    const final = events.find((e) => e.detailType === 'closure.termination.completed')?.detail as Record<string, unknown>;
    assert.equal(final.outcome, 'terminated');
    assert.equal(final.planHash, termination.planHash);
    assert.equal(final.manifestHash, done.manifestHash);
    assert.equal(events.filter((e) => e.detailType === 'closure.step.completed').length, 3);
    const verified = await api('GET', '/audit/verify?stream=events.closure', { tenant, roles: ['viewer'] });
    assert.equal(verified.body.result?.intact, true, JSON.stringify(verified.body));
  });

  it('refuses a component with live dependents without a cascade: 409 naming them, nothing written', async () => {
    const tenant = freshTenant('cl');
    await register(tenant);
    const refused = await as(tenant, 'alice', ['operator'], 'POST', '/closure/terminations', { target: 'db', reason: 'retire' });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(JSON.stringify(refused.body), /api, web/);
    assert.deepEqual(await status(tenant), []);
    assert.deepEqual(await ledgerEvents(tenant, 'closure'), []);
    const cascade = await as(tenant, 'alice', ['operator'], 'POST', '/closure/terminations', {
      target: 'db',
      reason: 'retire',
      cascade: true,
    });
    assert.equal(cascade.status, 202, JSON.stringify(cascade.body));
    assert.deepEqual(cascade.body.result.termination.plan.order, ['web', 'api', 'db']);
  });

  it('refuses a termination while the kill switch is on, and a bad request, writing nothing', async () => {
    const tenant = freshTenant('cl');
    await register(tenant);
    const bad = await as(tenant, 'alice', ['operator'], 'POST', '/closure/terminations', {
      target: 'exporter',
      reason: '',
      cascade: 'yes',
    });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /body\.parameters\.(reason|cascade)/);
    const on = await as(tenant, 'admin', ['admin'], 'PUT', '/governance/killswitch', { enabled: true, reason: 'incident review' });
    assert.equal(on.status, 200, JSON.stringify(on.body));
    const locked = await as(tenant, 'alice', ['operator'], 'POST', '/closure/terminations', { target: 'exporter', reason: 'replaced' });
    assert.equal(locked.status, 423, JSON.stringify(locked.body));
    assert.deepEqual(await status(tenant), []);
    assert.deepEqual(await ledgerEvents(tenant, 'closure'), []);
  });
});
