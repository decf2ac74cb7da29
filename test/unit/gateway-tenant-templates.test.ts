/**
 * A tenant's own prompt templates (lib/gateway/tenant-templates.ts) over the in-memory store: checked at
 * definition (a 400 naming the field, nothing stored), versioned by the tenant's revision, each change
 * an outbox event carrying the template's hash and never its text, the cap under concurrent
 * definitions, and chat rendering the tenant's template before the built-in of the same name.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors.ts';
import { chat } from '../../lib/gateway/engine.ts';
import { MemoryTemplateStore } from '../../lib/gateway/memory-store.ts';
import { MAX_TENANT_TEMPLATE_CHARS, MAX_TENANT_TEMPLATES, type PutTemplateInput } from '../../lib/gateway/schemas.ts';
import {
  defineTenantTemplate,
  deleteTenantTemplate,
  listTemplates,
  readTemplate,
  type TemplateDeps,
  templateHash,
  tenantTemplateLookup,
} from '../../lib/gateway/tenant-templates.ts';
import type { OutboxEntry } from '../../lib/governance/proposals.ts';
import { caller, gatewayTestDeps } from '../helpers/gateway.ts';

/** The outbox port: what was recorded in the ledger and delivered, in order. */
function outboxPort() {
  const recorded: OutboxEntry[] = [];
  const delivered: OutboxEntry[] = [];
  return {
    recorded,
    delivered,
    port: {
      record: async (entry: OutboxEntry) => {
        recorded.push(entry);
        return { tenant: entry.tenant, stream: 'events.gateway', seq: recorded.length - 1 };
      },
      deliver: async (entries: OutboxEntry[]) => {
        delivered.push(...entries);
      },
    },
  };
}

function setup() {
  const store = new MemoryTemplateStore();
  const outbox = outboxPort();
  const deps: TemplateDeps = { store, outbox: outbox.port, now: new Date('2026-12-01T09:30:00Z') };
  return { store, outbox, deps };
}

const review = (extra: Partial<PutTemplateInput> = {}): PutTemplateInput => ({
  name: 'incident_review',
  description: 'Reviews an incident of one service',
  messages: [{ role: 'system', content: 'You review incidents of {{service}} for {{team}}. Be {{tone}}.' }],
  defaults: { tone: 'brief' },
  ...extra,
});

const issuesOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof ValidationError, String(error));
  return error.issues.map((issue) => issue.path);
};

describe('defining a tenant template', () => {
  it('stores it at the next revision, with its variables and hash, and an event holding the hash but not the text', async () => {
    const { store, outbox, deps } = setup();
    const outcome = await defineTenantTemplate('acme', review(), 'alice', deps);
    assert.deepEqual(outcome, {
      name: 'incident_review',
      change: 'defined',
      version: 1,
      previousVersion: 0,
      hash: outcome.hash,
      builtIn: false,
      variables: [
        { name: 'service', required: true },
        { name: 'team', required: true },
        { name: 'tone', required: false },
      ],
    });
    const stored = await store.get('acme', 'incident_review');
    assert.ok(stored);
    assert.equal(stored.hash, templateHash(stored.template));
    assert.equal(outcome.hash, stored?.hash);
    assert.equal(outbox.recorded.length, 1, 'recorded in the ledger');
    assert.deepEqual(outbox.delivered, outbox.recorded, 'then published');
    const event = outbox.recorded[0]?.event;
    assert.equal(event?.detailType, 'gateway.template.changed');
    assert.deepEqual(event?.detail, {
      version: '1',
      tenant: 'acme',
      name: 'incident_review',
      change: 'defined',
      templateVersion: 1,
      previousTemplateVersion: 0,
      hash: outcome.hash,
      previousHash: null,
      builtIn: false,
      actor: 'alice',
      changedAt: '2026-12-01T09:30:00.000Z',
    });
    assert.ok(!JSON.stringify(event).includes('You review incidents'), 'the text never reaches the bus');
    assert.deepEqual(store.outbox, outbox.recorded, 'the event was saved with the template');
  });

  it('refuses a malformed template with a 400 naming the field, and stores nothing', async () => {
    const { store, outbox, deps } = setup();
    assert.deepEqual(
      await issuesOf(
        defineTenantTemplate(
          'acme',
          review({
            messages: [
              { role: 'system', content: 'fine {{service}}' },
              { role: 'user', content: 'broken {{ Service Name }}' },
            ],
            defaults: {},
          }),
          'alice',
          deps,
        ),
      ),
      ['body.parameters.messages.1.content'],
    );
    assert.deepEqual(await issuesOf(defineTenantTemplate('acme', review({ defaults: { tone: 'brief', colour: 'blue' } }), 'alice', deps)), [
      'body.parameters.defaults.colour',
    ]);
    assert.deepEqual(
      await issuesOf(
        defineTenantTemplate(
          'acme',
          // Each message within its own limit, the three together past the template's.
          review({
            messages: [0, 1, 2].map(() => ({
              role: 'system' as const,
              content: `{{service}} ${'x'.repeat(MAX_TENANT_TEMPLATE_CHARS / 3)}`,
            })),
            defaults: {},
          }),
          'alice',
          deps,
        ),
      ),
      ['body.parameters.messages'],
    );
    const many = Array.from({ length: 65 }, (_, i) => `{{v${i}}}`).join(' ');
    assert.deepEqual(
      await issuesOf(defineTenantTemplate('acme', review({ messages: [{ role: 'system', content: many }], defaults: {} }), 'alice', deps)),
      ['body.parameters.messages'],
    );
    assert.deepEqual(await store.revision('acme'), { revision: 0, count: 0 });
    assert.deepEqual(outbox.recorded, []);
  });

  it('replaces it at a higher version, honours ifVersion (409), and versions keep growing across names and a deletion', async () => {
    const { store, deps } = setup();
    const first = await defineTenantTemplate('acme', review(), 'alice', deps);
    const other = await defineTenantTemplate('acme', review({ name: 'other_one' }), 'alice', deps);
    const second = await defineTenantTemplate('acme', review({ description: 'changed', ifVersion: first.version }), 'bob', deps);
    assert.deepEqual([first.version, other.version, second.version], [1, 2, 3]);
    assert.equal(second.change, 'replaced');
    assert.equal(second.previousVersion, 1);
    assert.notEqual(second.hash, first.hash);
    const stale = await defineTenantTemplate('acme', review({ ifVersion: first.version }), 'bob', deps).catch((error: unknown) => error);
    assert.ok(stale instanceof ConflictError && /at version 3, not 1/.test(stale.message), String(stale));
    assert.ok(
      (await defineTenantTemplate('acme', review({ name: 'fresh_one', ifVersion: 0 }), 'bob', deps)).version === 4,
      'ifVersion 0 defines a new name',
    );
    const deleted = await deleteTenantTemplate('acme', 'incident_review', 'bob', deps);
    assert.deepEqual(deleted, { name: 'incident_review', deleted: true, version: 5, previousVersion: 3, builtIn: false });
    assert.equal(await store.get('acme', 'incident_review'), undefined);
    const again = await defineTenantTemplate('acme', review(), 'bob', deps);
    assert.deepEqual(
      [again.change, again.version, again.previousVersion],
      ['defined', 6, 0],
      'a name defined again never reuses a version',
    );
    assert.deepEqual(await store.revision('acme'), { revision: 6, count: 3 });
    assert.deepEqual(await store.revision('other-tenant'), { revision: 0, count: 0 }, 'revisions are per tenant');
  });

  it('keeps the cap under concurrent definitions and serialises them into distinct versions', async () => {
    const { store, deps } = setup();
    for (let i = 0; i < MAX_TENANT_TEMPLATES - 3; i++) await defineTenantTemplate('acme', review({ name: `t${i}` }), 'alice', deps);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => defineTenantTemplate('acme', review({ name: `late_${i}` }), 'alice', deps)),
    );
    const accepted = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value.version] : []));
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    assert.equal(accepted.length, 3, 'exactly as many as the cap leaves room for');
    assert.equal(new Set(accepted).size, 3, 'each its own version');
    assert.ok(
      refused.every((error) => error instanceof ConflictError && /holds 100 templates/.test(error.message)),
      String(refused),
    );
    assert.deepEqual(await store.revision('acme'), { revision: MAX_TENANT_TEMPLATES, count: MAX_TENANT_TEMPLATES });
    // Replacing one at the cap is fine: the count does not grow.
    assert.equal((await defineTenantTemplate('acme', review({ name: 't0', description: 'new' }), 'alice', deps)).change, 'replaced');
  });
});

describe('deleting and reading tenant templates', () => {
  it('deletes only what the tenant has (404 for a built-in or an unknown name), and lists built-ins and its own', async () => {
    const { deps, store } = setup();
    await assert.rejects(
      deleteTenantTemplate('acme', 'base_system', 'bob', deps),
      (error: unknown) => error instanceof NotFoundError && /cannot be deleted/.test(error.message),
    );
    await assert.rejects(deleteTenantTemplate('acme', 'nothing_here', 'bob', deps), NotFoundError);
    await defineTenantTemplate(
      'acme',
      { name: 'base_system', description: 'ours', messages: [{ role: 'system', content: 'You are the acme assistant.' }], defaults: {} },
      'alice',
      deps,
    );
    const listed = await listTemplates('acme', store);
    assert.deepEqual(
      listed.map((view) => `${view.source}:${view.name}:${view.inForce}`),
      ['built-in:base_system:false', 'built-in:critic_mode:true', 'built-in:developer_mode:true', 'tenant:base_system:true'],
    );
    assert.ok(
      listed.every((view) => view.messages === undefined),
      'the list carries no messages',
    );
    const ours = await readTemplate('acme', 'base_system', undefined, store);
    assert.deepEqual([ours.source, ours.messages?.[0]?.content], ['tenant', 'You are the acme assistant.']);
    const builtIn = await readTemplate('acme', 'base_system', 'built-in', store);
    assert.deepEqual([builtIn.source, builtIn.inForce, builtIn.version], ['built-in', false, 0]);
    assert.match(builtIn.messages?.[0]?.content ?? '', /\{\{assistant_name\}\}/);
    assert.equal((await readTemplate('other', 'base_system', undefined, store)).source, 'built-in', 'another tenant sees the built-in');
    await assert.rejects(readTemplate('acme', 'developer_mode', 'tenant', store), NotFoundError);
    const removed = await deleteTenantTemplate('acme', 'base_system', 'bob', deps);
    assert.equal(removed.builtIn, true);
    assert.equal((await readTemplate('acme', 'base_system', undefined, store)).source, 'built-in', 'the built-in applies again');
  });
});

describe('chat with tenant templates', () => {
  it("renders the tenant's template over the built-in of the same name, and only for that tenant", async () => {
    const { deps, stores } = gatewayTestDeps();
    const templates = setup();
    deps.templates = (tenant) => tenantTemplateLookup(templates.store, tenant);
    await defineTenantTemplate(
      'acme',
      {
        name: 'base_system',
        description: '',
        messages: [{ role: 'system', content: 'You are the {{team}} assistant of acme.' }],
        defaults: { team: 'platform' },
      },
      'alice',
      templates.deps,
    );
    const system = async (tenant: string) => {
      const { result } = await chat(
        {
          model: 'standin-a',
          messages: [{ role: 'user', content: 'What is a mutex?' }],
          template: 'base_system',
          stream: false,
          debug: false,
        },
        caller(tenant),
        deps,
      );
      const log = await stores.conversations.get(tenant, result.conversationId);
      return log?.turns[0]?.messages[0]?.content;
    };
    assert.equal(await system('acme'), 'You are the platform assistant of acme.');
    assert.match((await system('globex')) ?? '', /^You are an assistant, answering on behalf of the operator of this service/);
    const missing = await chat(
      {
        model: 'standin-a',
        messages: [{ role: 'user', content: 'hi' }],
        template: 'base_system',
        variables: { language: 'Go' },
        stream: false,
        debug: false,
      },
      caller('acme'),
      deps,
    ).catch((error: unknown) => error);
    assert.ok(missing instanceof ValidationError, String(missing));
    assert.deepEqual(
      missing.issues.map((issue) => issue.path),
      ['body.parameters.variables.language'],
      "the tenant's template decides which variables exist",
    );
  });
});
