/**
 * The approvals page (`GET /governance/ui`) in a real browser: Debian's Chromium driven by
 * playwright-core, against the local cloud `npm test` started. Approvals are opened by proposals
 * (`POST /governance/proposals`: a termination in prod always waits for people at the governance
 * gate) with hostile text in the fields a person reads: the page must show it literally, run none
 * of it, and break no CSP rule doing so.
 *
 * Chromium is required, not optional: without it the suite fails and says how to install it
 * (`.ci/run` does). `AUTONOMY_CHROMIUM` points at another binary. With
 * `APPROVALS_PAGE_SCREENSHOT=<file.png>` the v2 case also saves the README's screenshot there.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { Role } from '../../lib/auth/roles.ts';
import { policyDecisionSchema, riskAssessmentSchema, voteSchema } from '../../lib/governance/model.ts';
import { approvalViewSchema } from '../../lib/governance/routes.ts';
import { CONTENT_SECURITY_POLICY } from '../../lib/governance/ui/serve.ts';
import { api, eventually, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

const cloud = testCloud();
const sfn = new SFNClient({});
/** Debian's Chromium: `AUTONOMY_CHROMIUM`, else /usr/bin/chromium, else `chromium` wherever PATH has it. */
const CHROMIUM =
  process.env.AUTONOMY_CHROMIUM ??
  ['/usr/bin', ...(process.env.PATH ?? '').split(path.delimiter)]
    .map((dir) => path.join(dir, 'chromium'))
    .find((file) => existsSync(file)) ??
  '/usr/bin/chromium';
const STORAGE_KEY = 'autonomy.approvals.credential';
const pageUrl = `${cloud.apiUrl}/governance/ui`;

/** A proposal as `POST /governance/proposals` takes it. */
interface ProposalInput {
  engine: string;
  action: string;
  target: string;
  environment: 'dev' | 'test' | 'staging' | 'prod';
  reason: string;
  parameters?: Record<string, unknown>;
  evidence?: Record<string, unknown>;
}

interface ApprovalView {
  approvalId: string;
  risk: string;
  required: number;
  assessment: { factors: unknown[] };
}

const bearer = async (tenant: string, subject: string, roles: Role[]) => ({
  authorization: `Bearer ${await tokenFor({ tenant, subject, roles })}`,
});

/** Proposes an actuation as an operator named `subject`; it must wait for people. */
async function propose(tenant: string, subject: string, proposal: ProposalInput): Promise<{ approvalId: string; executionArn: string }> {
  const reply = await api('POST', '/governance/proposals', {
    auth: 'none',
    headers: await bearer(tenant, subject, ['operator']),
    body: { parameters: proposal },
  });
  assert.equal(reply.status, 202, JSON.stringify(reply.body));
  assert.equal(reply.body.result.route, 'human-approval', JSON.stringify(reply.body.result));
  return { approvalId: reply.body.result.approvalId, executionArn: reply.body.result.executionArn };
}

/** One approver's vote through the API (not the page). */
async function vote(tenant: string, subject: string, approvalId: string, decision: 'approve' | 'reject', reason: string) {
  return api('POST', '/governance/approvals', {
    auth: 'none',
    headers: await bearer(tenant, subject, ['approver']),
    body: { parameters: { approvalId, decision, reason } },
  });
}

/** The tenant's pending approvals once all of `approvalIds` are open (cold governance functions take their time). */
async function openApprovals(tenant: string, approvalIds: string[]): Promise<Map<string, ApprovalView>> {
  return eventually(
    `${approvalIds.length} pending approvals for ${tenant}`,
    async () => {
      const listed = await api('GET', '/governance/approvals?status=pending', { tenant, roles: ['viewer'] });
      const open = new Map(((listed.body?.result?.approvals ?? []) as ApprovalView[]).map((approval) => [approval.approvalId, approval]));
      return approvalIds.every((id) => open.has(id)) ? open : undefined;
    },
    45_000,
    250,
  );
}

/** What a page did that it must not: dialogs, script errors, CSP violations (events and console reports). */
interface Watch {
  dialogs: string[];
  errors: string[];
  violations: string[];
}

async function watchedPage(browser: Browser): Promise<{ page: Page; watch: Watch }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const watch: Watch = { dialogs: [], errors: [], violations: [] };
  page.on('dialog', (dialog) => {
    watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (error) => watch.errors.push(error.message));
  page.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy|Trusted ?Type/i.test(message.text())) watch.violations.push(message.text());
  });
  // The browser's own record of each violation, whether or not it reaches the console.
  // (Browser code as text: this project's TypeScript has no DOM types.)
  await page.addInitScript(`
    const seen = [];
    Object.defineProperty(window, '__cspViolations', { value: seen });
    document.addEventListener('securitypolicyviolation', (event) => seen.push(event.effectiveDirective + ' ' + event.blockedURI));
  `);
  return { page, watch };
}

async function signIn(page: Page, credential: string): Promise<void> {
  await page.fill('#credential', credential);
  await page.click('#sign-in-form button[type=submit]');
  await page.locator('#approvals').waitFor({ state: 'visible' });
}

async function assertNothingRan(page: Page, watch: Watch): Promise<void> {
  assert.deepEqual(watch.dialogs, [], 'no dialog opened');
  assert.deepEqual(watch.errors, [], 'no script error');
  assert.deepEqual(watch.violations, [], 'no CSP violation reported on the console');
  assert.deepEqual(await page.evaluate('[...window.__cspViolations]'), [], 'no securitypolicyviolation event');
  assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined', 'no injected script ran');
}

describe('approvals page route', () => {
  it('serves the page, its script and its stylesheet with their content types, the CSP and nosniff', async () => {
    const expected = { '': 'text/html', '?asset=page': 'text/html', '?asset=app.js': 'text/javascript', '?asset=app.css': 'text/css' };
    for (const [query, type] of Object.entries(expected)) {
      const reply = await fetch(`${pageUrl}${query}`);
      const body = await reply.text();
      assert.equal(reply.status, 200, `${query}: ${body.slice(0, 200)}`);
      assert.equal(reply.headers.get('content-type'), `${type}; charset=utf-8`, query);
      assert.equal(reply.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, query);
      assert.equal(reply.headers.get('x-content-type-options'), 'nosniff', query);
      assert.equal(reply.headers.get('referrer-policy'), 'no-referrer', query);
      assert.ok(body.length > 100, `${query} has a body`);
    }
    const unknown = await fetch(`${pageUrl}?asset=secrets.txt`);
    assert.equal(unknown.status, 400, "only the page's own files are served");
  });
});

describe('approvals page in Chromium', () => {
  let browser: Browser | undefined;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: the approvals page test needs it. Install Debian's package (apt-get install -y chromium; .ci/run does) or set AUTONOMY_CHROMIUM to a Chromium binary`,
      );
    }
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close();
  });

  const launched = (): Browser => {
    assert.ok(browser, 'Chromium did not start');
    return browser;
  };

  it('shows hostile approvals as text, approves one to its quorum with a reason, shows refusals, and forgets the credential on sign-out', async () => {
    const tenant = freshTenant('ui');
    const marker = randomUUID().slice(0, 8);
    const hostileTarget = `agent/${marker}"><img src=x onerror=alert(1)>`;
    const hostileReason = `"><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> ${marker}`;
    const hostileRequester = 'mallory<svg onload=alert(3)>';
    const terminate = (target: string, reason: string, extra: Partial<ProposalInput> = {}): ProposalInput => ({
      engine: 'closure',
      action: 'terminate',
      target,
      environment: 'prod',
      reason,
      ...extra,
    });
    // Termination always waits for people, whatever the autonomy level.
    const [hostile, own, raced] = await Promise.all([
      propose(
        tenant,
        hostileRequester,
        terminate(hostileTarget, hostileReason, {
          parameters: { note: '<script>window.__pwned=3</script>' },
          evidence: { log: '</pre><script>window.__pwned=4</script>' },
        }),
      ),
      propose(tenant, 'bob', terminate(`agent/own-${marker}`, 'bob asks for his own change')),
      propose(tenant, 'alice', terminate(`agent/raced-${marker}`, 'someone else decides this first')),
    ]);
    const open = await openApprovals(tenant, [hostile.approvalId, own.approvalId, raced.approvalId]);
    const hostileView = open.get(hostile.approvalId);
    assert.ok(hostileView);
    // All but one of the quorum vote through the API; bob's vote on the page completes it.
    const earlier = Array.from({ length: hostileView.required - 1 }, (_, index) => `carol-${index}`);
    for (const subject of earlier) {
      const earlierVote = await vote(tenant, subject, hostile.approvalId, 'approve', `${subject} checked the dependents`);
      assert.equal(earlierVote.status, 200, JSON.stringify(earlierVote.body));
    }

    const bob = await tokenFor({ tenant, roles: ['approver'], subject: 'bob' });
    const { page, watch } = await watchedPage(launched());
    try {
      const response = await page.goto(pageUrl);
      assert.equal(response?.headers()['content-security-policy'], CONTENT_SECURITY_POLICY);
      await signIn(page, bob);
      assert.equal(await page.textContent('#who'), `Signed in as bob · tenant ${tenant} · approver`);
      const card = (approvalId: string) => page.locator(`article.card[data-approval-id="${approvalId}"]`);
      await card(hostile.approvalId).waitFor();
      assert.equal(await page.locator('#pending article.card').count(), 3);

      // Every hostile value is on the page as the exact text it was, and none of it is markup.
      const hostileCard = card(hostile.approvalId);
      assert.equal(await hostileCard.locator('.target').textContent(), hostileTarget);
      const facts = await hostileCard.locator('dd').allTextContents();
      assert.ok(facts.includes(hostileReason), 'the reason shows literally');
      assert.ok(facts.includes(hostileRequester), 'the requester shows literally');
      const json = await hostileCard.locator('pre').allTextContents();
      assert.deepEqual(JSON.parse(json[0] ?? ''), { note: '<script>window.__pwned=3</script>' }, 'the parameters show literally');
      assert.deepEqual(JSON.parse(json[1] ?? ''), { log: '</pre><script>window.__pwned=4</script>' }, 'the evidence shows literally');
      assert.equal(await page.locator('img, svg, main script').count(), 0, 'no element came from the data');
      await assertNothingRan(page, watch);

      // What the gate assessed: risk and each factor, the policy decision, the quorum so far.
      const badges = await hostileCard.locator('.badges .badge').allTextContents();
      assert.deepEqual(badges.slice(0, 3), [`${hostileView.risk} risk`, 'prod', 'for approvers']);
      assert.equal(await hostileCard.locator('table.factors tbody tr').count(), hostileView.assessment.factors.length);
      assert.match(
        (await hostileCard.locator('.block.risk').textContent()) ?? '',
        /operation termination · boundary human · route human-approval/,
      );
      assert.equal(await hostileCard.locator('.decision-allow').textContent(), 'allowed');
      const required = hostileView.required;
      assert.match((await hostileCard.textContent()) ?? '', new RegExp(`${required - 1} of ${required} approvals?`));

      // The credential lives in this tab's session storage only, never in local storage or the URL.
      assert.equal(await page.evaluate((key) => sessionStorage.getItem(key), STORAGE_KEY), bob);
      assert.equal(await page.evaluate(() => localStorage.length), 0);
      assert.equal(page.url(), pageUrl);

      // A reason is required before anything is sent.
      await hostileCard.getByRole('button', { name: 'Approve' }).click();
      assert.equal(await hostileCard.locator('.error').textContent(), 'A reason is required.');

      // The API's refusals are shown as it worded them: bob cannot approve his own request (403) …
      const selfRefusal = await vote(tenant, 'bob', own.approvalId, 'approve', 'probe');
      assert.equal(selfRefusal.status, 403);
      await card(own.approvalId).locator('textarea').fill('mine, but urgent');
      await card(own.approvalId).getByRole('button', { name: 'Approve' }).click();
      await eventually('the 403 on the page', async () =>
        (await card(own.approvalId).locator('.error').textContent()) ? true : undefined,
      );
      const ownError = (await card(own.approvalId).locator('.error').textContent()) ?? '';
      assert.ok(ownError.includes(selfRefusal.body.message) && ownError.includes('403'), ownError);

      // … and an approval someone else rejected meanwhile is a 409.
      const rejected = await vote(tenant, 'dave', raced.approvalId, 'reject', 'not now');
      assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
      await card(raced.approvalId).locator('textarea').fill('fine by me');
      await card(raced.approvalId).getByRole('button', { name: 'Approve' }).click();
      await eventually('the 409 on the page', async () =>
        (await card(raced.approvalId).locator('.error').textContent()) ? true : undefined,
      );
      assert.match((await card(raced.approvalId).locator('.error').textContent()) ?? '', /^Not approved: .+ \(409/);

      // Approving with a reason completes the quorum: the approval leaves the pending list and shows in the history.
      const why = `checked the <b>dashboard</b> ${marker}`;
      await hostileCard.locator('textarea').fill(why);
      await hostileCard.getByRole('button', { name: 'Approve' }).click();
      await hostileCard.waitFor({ state: 'detached' });
      const row = page.locator(`#history tr[data-approval-id="${hostile.approvalId}"]`);
      await row.waitFor();
      const cells = await row.locator('td').allTextContents();
      assert.deepEqual(cells.slice(1, 6), ['approved', 'closure · terminate', hostileTarget, hostileView.risk, hostileRequester]);
      assert.deepEqual(await row.locator('ul.decisions li').allTextContents(), [
        ...earlier.map((subject) => `${subject} approved: ${subject} checked the dependents`),
        `bob approved: ${why}`,
      ]);
      assert.equal(await page.locator(`#history tr[data-approval-id="${raced.approvalId}"] td`).nth(1).textContent(), 'rejected');
      assert.equal(await page.textContent('#pending-count'), '1');
      const done = await eventually(
        'the approved execution to finish',
        async () => {
          const described = await sfn.send(new DescribeExecutionCommand({ executionArn: hostile.executionArn }));
          return described.status === 'RUNNING' ? undefined : described;
        },
        30_000,
        250,
      );
      assert.equal(done.status, 'SUCCEEDED');
      await assertNothingRan(page, watch);

      // Signing out forgets the credential and the data; a reload stays signed out.
      await page.click('#sign-out');
      assert.equal(await page.evaluate((key) => sessionStorage.getItem(key), STORAGE_KEY), null);
      assert.equal(await page.evaluate(() => sessionStorage.length), 0);
      assert.ok(await page.locator('#sign-in').isVisible());
      assert.equal(await page.locator('article.card, #history tr').count(), 0, 'nothing of the tenant stays on the page');
      await page.reload();
      assert.ok(await page.locator('#sign-in').isVisible());
      assert.equal(await page.locator('#approvals').isVisible(), false);
      await assertNothingRan(page, watch);
    } finally {
      await page.close();
    }
  });

  it('renders an escalated approval with votes, and a history from an API that refuses some statuses', async () => {
    // An escalation takes a gate timeout, so this case serves the page the approvals view from a
    // fixture (parsed with the route's own result schema, so it cannot drift from it). It also plays
    // an older API that refuses the statuses it does not know. Every approvals call is answered
    // here, so the tenant can have a name that reads well in the README's screenshot.
    const tenant = 'acme';
    const at = (minutes: number) => new Date(Date.parse('2026-12-01T09:00:00.000Z') + minutes * 60_000).toISOString();
    const assessment = riskAssessmentSchema.parse({
      score: 0.82,
      level: 'high',
      operation: 'termination',
      boundary: 'human',
      autonomyLevel: 2,
      route: 'human-approval',
      reason: 'Termination always waits for people, at every autonomy level',
      factors: [
        { name: 'operation', value: 'termination', contribution: 0.45, note: 'always-human class' },
        { name: 'environment', value: 'prod', contribution: 0.2, note: 'production raises risk' },
        { name: 'blast-radius', value: 3, contribution: 0.12, note: '3 components depend on it' },
        { name: 'reversibility', value: false, contribution: 0.05, note: 'data is deleted' },
        { name: 'failure-rate', value: 0, contribution: 0, note: 'no failures in 30 days' },
        { name: 'autonomy-level', value: 2, contribution: 0, note: 'semi-autonomous: high risk to people' },
      ],
    });
    const policy = policyDecisionSchema.parse({
      decision: 'allow',
      policies: ['base-profile-operator', 'team-ml-prod'],
      errors: [],
      version: 3,
    });
    const votes = [voteSchema.parse({ actor: 'carol', decision: 'approve', reason: 'traffic already drained', at: at(12) })];
    const pending = [
      {
        round: 2,
        tenant,
        approvalId: 'approval-p-7f3a',
        proposalId: 'p-7f3a',
        status: 'pending',
        executionArn: 'arn:aws:states:us-east-1:000000000000:execution:autonomy-local-governance-gate:approval-p-7f3a',
        action: {
          engine: 'closure',
          name: 'terminate',
          target: 'endpoint/chat-v1',
          parameters: { drainSeconds: 300, keepSnapshots: true },
        },
        environment: 'prod',
        risk: 'high',
        assessment,
        policy,
        evidence: { trafficLast7d: 0, replacement: 'endpoint/chat-v2', incident: 'INC-2291' },
        requestedBy: 'closure-engine',
        reason: 'No traffic for 7 days since chat-v2 took over',
        requestedAt: at(0),
        deadline: at(240),
        required: 2,
        group: 'admin',
        escalated: true,
        votes,
      },
      {
        tenant,
        approvalId: 'approval-p-91c2',
        round: 1,
        proposalId: 'p-91c2',
        status: 'pending',
        executionArn: 'arn:aws:states:us-east-1:000000000000:execution:autonomy-local-governance-gate:approval-p-91c2',
        action: {
          engine: 'promotion',
          name: 'promote',
          target: 'model/ranker',
          parameters: { from: 'staging', version: '2026.12.1' },
        },
        environment: 'staging',
        risk: 'medium',
        assessment: riskAssessmentSchema.parse({
          ...assessment,
          score: 0.52,
          level: 'medium',
          operation: 'version-promotion',
          boundary: 'l3',
          route: 'human-approval',
          reason: 'Medium risk at autonomy level 1 waits for people',
          autonomyLevel: 1,
          factors: [
            { name: 'operation', value: 'version-promotion', contribution: 0.3, note: 'L3 class: validated before it runs' },
            { name: 'environment', value: 'staging', contribution: 0.1, note: 'one step from production' },
            { name: 'blast-radius', value: 2, contribution: 0.08, note: '2 components depend on it' },
            { name: 'reversibility', value: true, contribution: 0, note: 'the previous version stays deployed' },
            { name: 'failure-rate', value: 0.04, contribution: 0.04, note: '1 failed promotion in 25' },
            { name: 'autonomy-level', value: 1, contribution: 0, note: 'supervised: every actuation waits for people' },
          ],
        }),
        policy: policyDecisionSchema.parse({ decision: 'allow', policies: ['base-profile-operator'], errors: [], version: 3 }),
        requestedBy: 'alice',
        reason: 'Offline eval +2.1 % NDCG; canary clean for 24 h',
        requestedAt: at(30),
        deadline: at(270),
        required: 1,
        group: 'approver',
        escalated: false,
        votes: [],
      },
    ].map((approval) => approvalViewSchema.parse(approval));
    const decided = [
      {
        ...pending[1],
        approvalId: 'approval-p-55d0',
        proposalId: 'p-55d0',
        status: 'approved',
        action: { engine: 'reflex', name: 'restart', target: 'endpoint/embed', parameters: {} },
        requestedBy: 'reflex-engine',
        decidedAt: at(-20),
        votes: [{ actor: 'bob', decision: 'approve', reason: 'memory leak confirmed in the dashboard', at: at(-20) }],
      },
      {
        ...pending[1],
        approvalId: 'approval-p-12ab',
        proposalId: 'p-12ab',
        status: 'rejected',
        action: { engine: 'replication', name: 'scale', target: 'endpoint/chat-v2', parameters: {} },
        risk: 'high',
        requestedBy: 'replication-engine',
        decidedAt: at(-95),
        votes: [{ actor: 'carol', decision: 'reject', reason: 'quota review first', at: at(-95) }],
      },
    ].map((approval) => approvalViewSchema.parse(approval));
    const { page, watch } = await watchedPage(launched());
    try {
      await page.route(
        (url) => url.pathname === '/governance/approvals',
        async (intercepted) => {
          const status = new URL(intercepted.request().url()).searchParams.get('status');
          // An older API refuses statuses it does not know (timed-out, refused): the page must cope.
          if (status === 'timed-out' || status === 'refused')
            return intercepted.fulfill({
              status: 400,
              contentType: 'application/json',
              body: JSON.stringify({ error: 'ValidationError', message: 'query.status: invalid option', correlationId: 'c-1' }),
            });
          const approvals = status === 'pending' ? pending : decided.filter((approval) => approval.status === status);
          return intercepted.fulfill({
            status: 200,
            contentType: 'application/json',
            body: JSON.stringify({ status: 'success', result: { approvals }, logs: [], provenance: [], timestamp: at(300) }),
          });
        },
      );
      await page.goto(pageUrl);
      await signIn(page, await tokenFor({ tenant, roles: ['approver'], subject: 'dave' }));
      const card = page.locator('article.card[data-approval-id="approval-p-7f3a"]');
      await card.waitFor();
      assert.deepEqual(await card.locator('.badge').allTextContents(), ['high risk', 'prod', 'for admins', 'escalated', 'allowed']);
      const factorRows = await card
        .locator('table.factors tbody tr')
        .evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent)));
      assert.deepEqual(factorRows[0], ['operation', 'termination', '+0.45', 'always-human class']);
      assert.deepEqual(factorRows[3], ['reversibility', 'false', '+0.05', 'data is deleted']);
      assert.equal(factorRows.length, 6);
      assert.match(
        (await card.locator('.block').first().textContent()) ?? '',
        /score 0\.82 · operation termination · boundary human · route human-approval · autonomy level 2/,
      );
      assert.deepEqual(await card.locator('ul.policies li').allTextContents(), ['base-profile-operator', 'team-ml-prod']);
      assert.match((await card.textContent()) ?? '', /1 of 2 approvals/);
      assert.equal(await card.locator('progress').getAttribute('value'), '1');
      assert.match(
        (await card.locator('ul.votes').textContent()) ?? '',
        /carol approved at 2026-12-01 09:12:00 UTC: traffic already drained/,
      );
      const json = await card.locator('pre').allTextContents();
      assert.deepEqual(JSON.parse(json[0] ?? ''), pending[0]?.action.parameters);
      assert.deepEqual(JSON.parse(json[1] ?? ''), pending[0]?.evidence);
      assert.deepEqual(
        await page.locator('#history tbody tr td:nth-child(2)').allTextContents(),
        ['approved', 'rejected'],
        'newest first; the 400s leave no gap or error',
      );
      assert.equal(await page.locator('#history .error').count(), 0);
      await assertNothingRan(page, watch);
      const screenshot = process.env.APPROVALS_PAGE_SCREENSHOT;
      if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    } finally {
      await page.close();
    }
  });
});
