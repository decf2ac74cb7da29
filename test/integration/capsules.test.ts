/**
 * Capsules on the local cloud: a signed capsule goes from submission through the automated review
 * and a reviewer's approval at the governance gate to published, installed by another tenant (its
 * guardrails in that tenant's Cedar policy set, its budget recorded), uninstalled and deprecated,
 * every step in a ledger that verifies; and each bad bundle is refused with the exact reason while
 * nothing is stored or published.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { Role } from '../../lib/auth/roles.ts';
import { MAX_BUNDLE_BYTES } from '../../lib/capsules/schemas.ts';
import { type AuthorKeyPair, authorKeyPair, SUMMARY_MODULE, sampleManifest, signedBundle } from '../helpers/capsules.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

async function as(tenant: string, subject: string, roles: Role[], method: string, path: string, body?: unknown) {
  const token = await tokenFor({ tenant, subject, roles });
  return api(method, path, { auth: 'none', headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { body }) });
}

const submit = (tenant: string, author: string, parameters: Record<string, unknown>, roles: Role[] = ['operator']) =>
  as(tenant, author, roles, 'POST', '/capsules/submissions', { parameters });
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** Registers `key` as `subject`'s key in `tenant` (an admin's act). */
async function register(tenant: string, subject: string, key: AuthorKeyPair) {
  const reply = await as(tenant, 'root', ['admin'], 'PUT', '/capsules/authors', { parameters: { subject, publicKey: key.publicKey } });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.equal(reply.body.result.keyId, key.keyId);
  return reply;
}

/** The tenant's capsule events in the ledger. */
const capsuleEvents = (tenant: string) => ledgerEvents(tenant, 'capsules');

/** The bundles stored under a tenant. */
async function storedBundles(tenant: string): Promise<string[]> {
  const s3 = new S3Client({ forcePathStyle: true });
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: testCloud().resources.buckets.ArtifactsBucket ?? '', Prefix: `${tenant}/capsules/bundles/` }),
  );
  return (listed.Contents ?? []).map((object) => object.Key ?? '');
}

async function verified(tenant: string, stream: string) {
  const reply = await as(tenant, 'auditor', ['viewer'], 'GET', `/audit/verify?stream=${stream}`);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body.result;
}

describe('capsules on the local cloud', { timeout: 300_000 }, () => {
  it('takes a signed capsule from submission through review and approval to published, installed, uninstalled and deprecated, every step in a verifying ledger', async () => {
    const owner = freshTenant('cap-a');
    const installer = freshTenant('cap-b');
    const name = `incident-summary-${randomUUID().slice(0, 8)}`;
    const alice = authorKeyPair();
    await register(owner, 'alice', alice);

    const { bytes, signature } = signedBundle(alice, sampleManifest({ name }));
    const submitted = await submit(owner, 'alice', { bundle: base64(bytes), signature });
    assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
    const inReview = submitted.body.result;
    assert.equal(inReview.status, 'in-review');
    assert.deepEqual(
      inReview.review.checks.map((check: { check: string; outcome: string }) => `${check.check}:${check.outcome}`),
      ['size:passed', 'signature:passed', 'bundle:passed', 'manifest:passed', 'rights:passed', 'version:passed'],
    );
    assert.equal(inReview.bundleKey, `${owner}/capsules/bundles/${signature.bundleSha256}.json`);
    assert.ok(inReview.approvalId, 'a reviewer decides');
    assert.deepEqual(await storedBundles(owner), [inReview.bundleKey]);

    // In review: only its owner sees it; another tenant cannot install it.
    assert.equal((await as(installer, 'ops', ['viewer'], 'GET', `/capsules/catalog?name=${name}`)).status, 404);
    assert.equal(
      (await as(installer, 'ops', ['admin'], 'POST', '/capsules/installs', { parameters: { name, version: '1.0.0' } })).status,
      404,
    );
    const own = await as(owner, 'alice', ['viewer'], 'GET', `/capsules/catalog?name=${name}&version=1.0.0`);
    assert.equal(own.body.result.version.status, 'in-review');

    // The reviewers: never the author; as many approvers as the tenant's quorum asks.
    const approval = await eventually(
      'the publication approval to open',
      async () =>
        (await as(owner, 'viewer', ['viewer'], 'GET', '/governance/approvals')).body.result.approvals.find(
          (entry: { approvalId: string }) => entry.approvalId === inReview.approvalId,
        ),
      20_000,
      200,
    );
    const self = await as(owner, 'alice', ['approver'], 'POST', '/governance/approvals', {
      parameters: { approvalId: approval.approvalId, decision: 'approve', reason: 'mine' },
    });
    assert.equal(self.status, 403, 'the author never approves their own capsule');
    for (let index = 0; index < approval.required; index += 1) {
      const vote = await as(owner, `reviewer-${index}`, ['approver'], 'POST', '/governance/approvals', {
        parameters: { approvalId: approval.approvalId, decision: 'approve', reason: 'read the prompts, the tools and the guardrail' },
      });
      assert.equal(vote.status, 200, JSON.stringify(vote.body));
    }
    const published = await eventually(
      'the version to be published',
      async () => {
        const reply = await as(installer, 'ops', ['viewer'], 'GET', `/capsules/catalog?name=${name}&version=1.0.0`);
        return reply.status === 200 && reply.body.result.version.status === 'published' ? reply.body.result : undefined;
      },
      30_000,
      250,
    );
    assert.equal(published.capsules[0].latestVersion, '1.0.0');
    assert.equal(published.version.review.outcome, 'passed', 'the review record comes with it');
    assert.equal(published.version.proposalId, undefined, 'other tenants do not see the owner’s proposal');
    const search = await as(installer, 'ops', ['viewer'], 'GET', `/capsules/catalog?q=${name}`);
    assert.deepEqual(
      search.body.result.capsules.map((capsule: { name: string }) => capsule.name),
      [name],
    );

    // Installed by another tenant: its guardrail becomes that tenant's capsule layer.
    const installed = await as(installer, 'ops', ['admin'], 'POST', '/capsules/installs', { parameters: { name, version: '1.0.0' } });
    assert.equal(installed.status, 200, JSON.stringify(installed.body));
    assert.deepEqual(installed.body.result.budget, { tokens: 20_000, costUsd: 0.5 });
    const policies = (await as(installer, 'ops', ['viewer'], 'GET', '/governance/policies')).body.result;
    assert.equal(policies.policyVersion, installed.body.result.policyVersion);
    assert.match(policies.layers.capsules[name], /forbid \(principal == Autonomy::Capsule::/);
    assert.ok(policies.policyIds.includes(`capsule/${name}/no-config-changes`), policies.policyIds.join(', '));
    assert.equal(
      (await as(installer, 'ops', ['admin'], 'POST', '/capsules/installs', { parameters: { name, version: '1.0.0' } })).status,
      409,
      'installed already',
    );
    const listed = await as(installer, 'ops', ['viewer'], 'GET', '/capsules/installs');
    assert.deepEqual(
      listed.body.result.installs.map((install: { name: string; status: string }) => `${install.name}:${install.status}`),
      [`${name}:installed`],
    );
    // An admin's new team layer keeps the capsule's layer.
    const team = await as(installer, 'root', ['admin'], 'PUT', '/governance/policies', { parameters: { policies: { team: '' } } });
    assert.equal(team.status, 200, JSON.stringify(team.body));
    assert.ok((await as(installer, 'ops', ['viewer'], 'GET', '/governance/policies')).body.result.layers.capsules[name]);

    const uninstalled = await as(installer, 'ops', ['admin'], 'DELETE', `/capsules/installs?name=${name}`);
    assert.equal(uninstalled.status, 200, JSON.stringify(uninstalled.body));
    assert.equal((await as(installer, 'ops', ['viewer'], 'GET', '/governance/policies')).body.result.layers.capsules, undefined);

    const deprecated = await as(owner, 'root', ['admin'], 'PUT', '/capsules/deprecations', {
      parameters: { name, version: '1.0.0', reason: 'superseded' },
    });
    assert.equal(deprecated.status, 200, JSON.stringify(deprecated.body));
    assert.equal(
      (await as(installer, 'ops', ['admin'], 'POST', '/capsules/installs', { parameters: { name, version: '1.0.0' } })).status,
      409,
      'deprecated',
    );
    assert.equal(
      (
        await as(installer, 'root', ['admin'], 'PUT', '/capsules/deprecations', {
          parameters: { name, version: '1.0.0', reason: 'not mine' },
        })
      ).status,
      404,
    );

    // Every step in the ledgers of the tenants it concerns, and each stream verifies.
    const ownerSteps = await eventually('the owner’s capsule events', async () => {
      const events = (await capsuleEvents(owner)).map((event) => event.detailType);
      return events.includes('capsules.version.deprecated') ? events : undefined;
    });
    assert.deepEqual(ownerSteps, [
      'capsules.author-key.changed',
      'capsules.review.completed',
      'capsules.version.submitted',
      'capsules.version.published',
      'capsules.version.deprecated',
    ]);
    const installerSteps = (await capsuleEvents(installer)).map((event) => event.detailType);
    assert.deepEqual(installerSteps, ['capsules.capsule.installed', 'capsules.capsule.uninstalled']);
    const governance = (await ledgerEvents(owner, 'governance')).map((event) => event.detailType);
    for (const step of [
      'governance.proposal.evaluated',
      'governance.approval.requested',
      'governance.approval.decided',
      'governance.proposal.settled',
    ])
      assert.ok(governance.includes(step), `${step} in ${governance.join(', ')}`);
    for (const [tenant, stream] of [
      [owner, 'events.capsules'],
      [owner, 'events.governance'],
      [installer, 'events.capsules'],
      [installer, 'events.governance'],
    ] as const) {
      const result = await verified(tenant, stream);
      assert.equal(result.intact, true, `${tenant} ${stream}: ${JSON.stringify(result)}`);
      assert.ok(result.entries > 0);
    }
  });

  it('refuses each bad bundle with the exact reason, and publishes and stores nothing', async () => {
    const tenant = freshTenant('cap-r');
    const alice = authorKeyPair();
    await register(tenant, 'alice', alice);
    const mallory = authorKeyPair();
    const name = (suffix: string) => `bad-${suffix}-${randomUUID().slice(0, 6)}`;
    const valid = signedBundle(alice, sampleManifest({ name: name('exists') }));
    const changed = signedBundle(alice, sampleManifest({ name: name('changed'), budget: { tokens: 9_000_000, costUsd: 900 } }));
    const wrong = signedBundle(alice, sampleManifest({ name: name('wrong') }));
    const oversize = signedBundle(alice, sampleManifest({ name: name('big') }), {
      'tools/summary.js': SUMMARY_MODULE,
      'data/padding.txt': 'x'.repeat(MAX_BUNDLE_BYTES),
    });
    const beyond = signedBundle(alice, sampleManifest({ name: name('rights'), tools: ['observation_status_get', 'identity_keys_create'] }));
    const malformed = signedBundle(alice, sampleManifest({ name: name('malformed'), budget: { tokens: 0, costUsd: -1 } }));

    assert.equal((await submit(tenant, 'alice', { bundle: base64(valid.bytes), signature: valid.signature })).status, 202);
    const cases: Array<[string, Record<string, unknown>, number, string, RegExp]> = [
      ['missing signature', { bundle: base64(valid.bytes) }, 400, 'body.parameters.signature', /missing signature/],
      [
        'wrong signature',
        {
          bundle: base64(wrong.bytes),
          signature: { ...wrong.signature, signature: signedBundle(mallory, sampleManifest()).signature.signature },
        },
        400,
        'body.parameters.signature.signature',
        /wrong signature: it does not verify/,
      ],
      [
        'content changed after signing',
        { bundle: base64(changed.bytes), signature: valid.signature },
        400,
        'body.parameters.bundle',
        /content changed after signing/,
      ],
      [
        'tools beyond the author’s rights',
        { bundle: base64(beyond.bytes), signature: beyond.signature },
        403,
        '',
        /identity_keys_create needs identity:admin, beyond the author's roles \[operator\]/,
      ],
      [
        'malformed manifest',
        { bundle: base64(malformed.bytes), signature: malformed.signature },
        400,
        'body.parameters.bundle.manifest.budget.tokens',
        /.+/,
      ],
      [
        'oversize bundle',
        { bundle: base64(oversize.bytes), signature: oversize.signature },
        413,
        '',
        /oversize bundle: \d+ bytes; at most 262144/,
      ],
      [
        'version already exists',
        { bundle: base64(valid.bytes), signature: valid.signature },
        409,
        '',
        /version already exists: .* 1\.0\.0 is in-review/,
      ],
    ];
    for (const [what, parameters, status, field, reason] of cases) {
      const reply = await submit(tenant, 'alice', parameters);
      assert.equal(reply.status, status, `${what}: ${JSON.stringify(reply.body)}`);
      const issue = field ? reply.body.issues?.find((candidate: { path: string }) => candidate.path === field) : undefined;
      if (field) assert.ok(issue, `${what}: ${field} not named in ${JSON.stringify(reply.body.issues)}`);
      assert.match(field ? issue.message : reply.body.message, reason, what);
    }

    // Nothing of the refused bundles is stored or listed: one bundle, one capsule (the valid one).
    assert.deepEqual(await storedBundles(tenant), [`${tenant}/capsules/bundles/${valid.signature.bundleSha256}.json`]);
    for (const bad of [changed, wrong, oversize, beyond, malformed]) {
      const manifestName = JSON.parse(new TextDecoder().decode(bad.bytes)).manifest.name;
      assert.equal((await as(tenant, 'alice', ['viewer'], 'GET', `/capsules/catalog?name=${manifestName}`)).status, 404, manifestName);
    }
    // Each refusal is in the author's ledger with its check and reason; the stream verifies.
    const reviews = await eventually('every review in the ledger', async () => {
      const events = (await capsuleEvents(tenant)).filter((event) => event.detailType === 'capsules.review.completed');
      return events.length >= 1 + cases.length ? events : undefined;
    });
    const refused = reviews
      .filter((event) => event.detail.outcome === 'refused')
      .map((event) => `${event.detail.status} ${(event.detail.reason as string).slice(0, 30)}`);
    assert.equal(refused.length, cases.length, refused.join('\n'));
    assert.equal((await verified(tenant, 'events.capsules')).intact, true);
  });
});
