/**
 * The Versioning engine on the local cloud: a tool's input schema tagged 1.0.0 with a golden set, a
 * refused tag (a requested version smaller than the changes call for) that writes nothing, a breaking
 * 2.0.0 proposed to governance and blocked from promotion until people approve it, the approval
 * recorded on the version, the compatibility matrix, and every tag in a verifying ledger with the
 * hash of its body.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Role } from '../../lib/auth/roles.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, tokenFor } from '../helpers/local-cloud.ts';

/** A call as `subject` (approvers must differ from the requester) with `roles`; `body` is the envelope's parameters. */
async function as(tenant: string, roles: Role[], method: string, path: string, body?: unknown, subject = 'ops') {
  const token = await tokenFor({ tenant, subject, roles });
  return api(method, path, {
    auth: 'none',
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: { parameters: body } }),
  });
}

const artifact = 'tools/weather.input';
const v1 = { type: 'object', properties: { city: { type: 'string', maxLength: 80 } }, required: ['city'] };
const v2 = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 80 }, days: { type: 'integer', minimum: 1 } },
  required: ['city', 'days'],
};

describe('versioning on the local cloud', { timeout: 120_000 }, () => {
  it('tags two versions, blocks the breaking one from promotion until approved, and records every tag in a verifying ledger', async () => {
    const tenant = freshTenant('ver');
    const first = await as(tenant, ['operator'], 'POST', '/versioning/versions', {
      artifact,
      kind: 'schema',
      body: v1,
      golden: [{ city: 'Oslo', days: 2 }],
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual([first.body.result.version, first.body.result.bump, first.body.result.gate.golden.passed], ['1.0.0', 'initial', true]);

    // Refused, nothing written: the changes call for a major bump.
    const small = await as(tenant, ['operator'], 'POST', '/versioning/versions', { artifact, kind: 'schema', body: v2, version: '1.1.0' });
    assert.equal(small.status, 400, JSON.stringify(small.body));
    assert.match(JSON.stringify(small.body), /version/);
    assert.match(JSON.stringify(small.body), /major bump: at least 2\.0\.0/);
    const listed = await as(tenant, ['viewer'], 'GET', `/versioning/versions?artifact=${artifact}`);
    assert.deepEqual(
      listed.body.result.versions.map((v: { version: string }) => v.version),
      ['1.0.0'],
    );

    const second = await as(tenant, ['operator'], 'POST', '/versioning/versions', { artifact, kind: 'schema', body: v2 }, 'alice');
    assert.equal(second.status, 200, JSON.stringify(second.body));
    const tagged = second.body.result;
    assert.deepEqual([tagged.version, tagged.bump, tagged.breaking], ['2.0.0', 'major', true]);
    assert.ok(tagged.changes.some((c: { path: string; kind: string }) => c.path === '/required/1' && c.kind === 'required-added'));
    assert.ok(tagged.tagMs < 5000, `tagging took ${tagged.tagMs} ms`);
    assert.equal(tagged.approval.status, 'pending');

    const blocked = await as(tenant, ['viewer'], 'GET', `/versioning/promotable?artifact=${artifact}&version=2.0.0`);
    assert.equal(blocked.status, 200, JSON.stringify(blocked.body));
    assert.equal(blocked.body.result.promotable, false);
    assert.match(blocked.body.result.reasons.join(' '), /waits for approval/);
    assert.equal(
      (await as(tenant, ['viewer'], 'GET', `/versioning/promotable?artifact=${artifact}&version=1.0.0`)).body.result.promotable,
      true,
    );

    // People approve the governance proposal (as many approvers as its quorum asks).
    const proposal = (await as(tenant, ['viewer'], 'GET', `/governance/proposals?proposalId=${tagged.proposalId}`)).body.result
      .proposals[0];
    assert.deepEqual(
      [proposal.engine, proposal.action, proposal.route, proposal.requestedBy],
      ['versioning', 'publish', 'human-approval', 'engine:versioning'],
    );
    await eventually(
      'the approval to open',
      async () => {
        const approvals = (await as(tenant, ['viewer'], 'GET', '/governance/approvals')).body.result.approvals;
        return approvals.find((entry: { approvalId: string }) => entry.approvalId === proposal.approvalId);
      },
      20_000,
      200,
    );
    for (const approver of ['bob', 'carol']) {
      const vote = await as(
        tenant,
        ['approver'],
        'POST',
        '/governance/approvals',
        { approvalId: proposal.approvalId, decision: 'approve', reason: 'consumers migrated' },
        approver,
      );
      assert.equal(vote.status, 200, JSON.stringify(vote.body));
      if (vote.body.result.status === 'approved') break;
    }
    const promotable = await eventually(
      'the approval to reach the version',
      async () => {
        const reply = await as(tenant, ['viewer'], 'GET', `/versioning/promotable?artifact=${artifact}&version=2.0.0`);
        return reply.body.result?.promotable ? reply.body.result : undefined;
      },
      30_000,
      250,
    );
    assert.deepEqual(promotable.reasons, []);
    const versions = (await as(tenant, ['viewer'], 'GET', `/versioning/versions?artifact=${artifact}`)).body.result.versions;
    assert.equal(versions[1].approval.status, 'approved');

    const matrix = (await as(tenant, ['viewer'], 'GET', `/versioning/compatibility?artifact=${artifact}`)).body.result;
    assert.deepEqual(matrix.consumers, [
      { consumer: '1.0.0', accepts: ['1.0.0'] },
      { consumer: '2.0.0', accepts: ['2.0.0'] },
    ]);

    const events = await eventually(
      'the tags and the approval in the ledger',
      async () => {
        const recorded = await ledgerEvents(tenant, 'versioning');
        return recorded.length >= 3 ? recorded : undefined;
      },
      20_000,
      250,
    );
    assert.deepEqual(
      events.filter((e) => e.detailType === 'versioning.version.tagged').map((e) => [e.detail.artifactVersion, e.detail.hash]),
      [
        ['1.0.0', first.body.result.hash],
        ['2.0.0', tagged.hash],
      ],
    );
    assert.ok(events.some((e) => e.detailType === 'versioning.version.updated' && e.detail.what === 'approval'));
    const verified = await as(tenant, ['viewer'], 'GET', '/audit/verify?stream=events.versioning');
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal(verified.body.result.intact, true);
  });
});
