/**
 * The Compression engine on the local cloud: a context compressed through the API with its lineage in
 * a ledger that verifies; critical items over budget answered with needs-approval and a governance
 * proposal, dropped only once people approved it; answer-found feedback taken once; a refused request
 * writes nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Role } from '../../lib/auth/roles.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, tokenFor } from '../helpers/local-cloud.ts';

async function as(tenant: string, subject: string, roles: Role[], method: string, path: string, body?: unknown) {
  const token = await tokenFor({ tenant, subject, roles });
  return api(method, path, { auth: 'none', headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { body }) });
}

const filler = (topic: string, n: number) =>
  Array.from({ length: n }, (_, i) => `The ${topic} note ${i} covers ${topic} matters in general terms.`).join(' ');
const items = [
  { id: 'd1', kind: 'document', text: `${filler('weather', 8)} The Eiffel Tower was completed in 1889 for the World Fair.` },
  { id: 'd2', kind: 'document', text: filler('cooking', 12) },
  { id: 'd3', kind: 'document', text: filler('cooking', 12) },
  { id: 'm1', kind: 'memory', text: filler('gardening', 10) },
  { id: 't1', kind: 'turn', role: 'user', text: 'Tell me about Paris landmarks.' },
];

const compressionEvents = async (tenant: string) => (await ledgerEvents(tenant, 'compression')).map((event) => event.detail);

describe('compression on the local cloud', { timeout: 240_000 }, () => {
  it('compresses a context through the API with its lineage and hashes in a verifying ledger, and takes feedback once', async () => {
    const tenant = freshTenant('cmp');
    const reply = await as(tenant, 'agent', ['operator'], 'POST', '/compression/compress', {
      parameters: { contextId: 'session-1', goal: 'When was the Eiffel Tower completed?', budgetTokens: 120, items },
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const result = reply.body.result;
    assert.equal(result.status, 'compressed');
    assert.ok(result.tokensOut <= 120 && result.saved > 0.5, `saved ${result.saved}, ${result.tokensOut} tokens`);
    assert.ok(result.items.some((item: { text: string }) => item.text.includes('completed in 1889')));
    const accounted = new Set([
      ...result.items.flatMap((item: { from: { id: string }[] }) => item.from.map((from) => from.id)),
      ...result.dropped.map((entry: { id: string }) => entry.id),
    ]);
    assert.deepEqual([...accounted].sort(), items.map((item) => item.id).sort(), 'every input item in the lineage');

    const recorded = await eventually('the compression in the ledger', async () =>
      (await compressionEvents(tenant)).find((detail) => detail.compressionId === result.compressionId),
    );
    assert.deepEqual(
      recorded.lineage,
      result.items.map((item: { id: string; hash: string; from: unknown }) => ({ id: item.id, hash: item.hash, from: item.from })),
    );
    assert.ok(!JSON.stringify(recorded).includes('Eiffel'), 'hashes, never texts, in the ledger');
    const verify = await as(tenant, 'auditor', ['viewer'], 'GET', '/audit/verify?stream=events.compression');
    assert.equal(verify.status, 200, JSON.stringify(verify.body));
    assert.equal(verify.body.result.intact, true);

    const feedback = { parameters: { compressionId: result.compressionId, found: true } };
    assert.equal((await as(tenant, 'agent', ['operator'], 'POST', '/compression/feedback', feedback)).status, 200);
    assert.equal((await as(tenant, 'agent', ['operator'], 'POST', '/compression/feedback', feedback)).status, 409, 'once per compression');
    const status = await as(tenant, 'viewer', ['viewer'], 'GET', '/compression/status');
    assert.equal(status.status, 200);
    assert.equal(status.body.result.effectiveness.compressions, 1);
    assert.deepEqual(status.body.result.effectiveness.recent, [true]);
  });

  it('never drops critical items without approval: needs-approval with a proposal, then dropped once people approved it', async () => {
    const tenant = freshTenant('cmp');
    const config = await as(tenant, 'ops', ['operator'], 'PUT', '/compression/config', { parameters: { criticalLabels: ['legal-hold'] } });
    assert.equal(config.status, 200, JSON.stringify(config.body));
    const critical = [
      { id: 'c1', kind: 'memory', text: filler('contract', 10), labels: ['legal-hold'] },
      { id: 'c2', kind: 'document', text: filler('safety', 10), critical: true },
    ];
    const request = { contextId: 'held', goal: 'safety matters', budgetTokens: 150, items: critical };
    const waiting = await as(tenant, 'agent', ['operator'], 'POST', '/compression/compress', { parameters: request });
    assert.equal(waiting.status, 202, JSON.stringify(waiting.body));
    assert.equal(waiting.body.result.status, 'needs-approval');
    assert.deepEqual(
      waiting.body.result.needsApproval.items.map((item: { id: string }) => item.id),
      ['c1'],
    );
    assert.deepEqual(
      waiting.body.result.items.map((item: { id: string }) => item.id),
      ['c1', 'c2'],
      'nothing critical dropped',
    );
    const proposalId = waiting.body.result.proposalId;
    assert.ok(proposalId);

    // Not approved yet: using the proposal is refused.
    const early = await as(tenant, 'agent', ['operator'], 'POST', '/compression/compress', {
      parameters: { ...request, approvedProposalId: proposalId },
    });
    assert.equal(early.status, 409, JSON.stringify(early.body));

    const approval = await eventually(
      'the approval to open',
      async () =>
        (await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/approvals')).body.result.approvals.find(
          (entry: { proposalId: string }) => entry.proposalId === proposalId,
        ),
      60_000,
      200,
    );
    for (let index = 0; index < approval.required; index += 1) {
      const vote = await as(tenant, `approver-${index}`, ['approver'], 'POST', '/governance/approvals', {
        parameters: { approvalId: approval.approvalId, decision: 'approve', reason: 'the contract is archived elsewhere' },
      });
      assert.equal(vote.status, 200, JSON.stringify(vote.body));
    }
    const approved = await eventually(
      'the compression to go through',
      async () => {
        const reply = await as(tenant, 'agent', ['operator'], 'POST', '/compression/compress', {
          parameters: { ...request, approvedProposalId: proposalId },
        });
        return reply.status === 200 ? reply.body.result : undefined;
      },
      20_000,
      250,
    );
    assert.equal(approved.status, 'compressed');
    // c1 is no longer protected: dropped, or cut to its sentences that fit; c2 stays whole.
    const c1 = approved.items.find((item: { id: string }) => item.id === 'c1');
    assert.ok(!c1 || c1.from[0].how === 'summarised', JSON.stringify(c1));
    assert.ok(approved.tokensOut <= 150);
    assert.ok(approved.items.some((item: { id: string }) => item.id === 'c2'));
    const details = await eventually('both compressions in the ledger', async () => {
      const found = (await compressionEvents(tenant)).filter((detail) => detail.compressionId !== undefined);
      return found.length >= 2 ? found : undefined;
    });
    assert.deepEqual(
      details.map((detail) => [detail.status, detail.proposalId ?? detail.approvedProposalId]),
      [
        ['needs-approval', proposalId],
        ['compressed', proposalId],
      ],
    );
  });

  it('refuses a bad request naming the field, and writes nothing', async () => {
    const tenant = freshTenant('cmp');
    const bad = await as(tenant, 'agent', ['operator'], 'POST', '/compression/compress', {
      parameters: { goal: 'x', budgetTokens: 100, items: [{ id: 'a', kind: 'scroll', text: 'hello' }] },
    });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /items\.0\.kind/);
    const unknown = await as(tenant, 'agent', ['operator'], 'POST', '/compression/feedback', {
      parameters: { compressionId: 'nope', found: false },
    });
    assert.equal(unknown.status, 404);
    const status = await as(tenant, 'viewer', ['viewer'], 'GET', '/compression/status');
    assert.equal(status.body.result.effectiveness.compressions, 0);
    assert.equal(status.body.result.settings.version, 0);
    assert.deepEqual(await compressionEvents(tenant), []);
  });
});
