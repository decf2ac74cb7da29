import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildEntry } from '../../lib/audit/chain.ts';
import {
  type ComplianceRecord,
  type ComplianceRule,
  defaultPredicates,
  evaluateCompliance,
  type RulePredicate,
} from '../../lib/audit/compliance.ts';
import type { LedgerEntry, Payload } from '../../lib/audit/schemas.ts';

function records(events: { actor: string; payload: Payload; correlationId?: string | null }[]): ComplianceRecord[] {
  const out: ComplianceRecord[] = [];
  let prev: LedgerEntry | undefined;
  for (const [seq, event] of events.entries()) {
    prev = buildEntry(prev, {
      tenant: 'acme',
      stream: 'ops',
      timestamp: new Date(Date.UTC(2025, 0, 1, 0, seq)).toISOString(),
      correlationId: 'req',
      ...event,
    });
    out.push({ entry: prev, payload: event.payload });
  }
  return out;
}

const promotion = (id: string, environment = 'prod') => ({ kind: 'promotion', id, environment });
const approval = (subject: string, decision = 'approve') => ({ kind: 'approval', subject, decision });

describe('compliance: prod promotions need four eyes', () => {
  it('finds nothing when another actor approved the promotion', () => {
    const stream = records([
      { actor: 'bob', payload: approval('p-1') },
      { actor: 'alice', payload: promotion('p-1') },
    ]);
    assert.deepEqual(evaluateCompliance(stream), []);
  });

  it('reports a prod promotion with no approval, at the promotion seq', () => {
    const stream = records([
      { actor: 'alice', payload: { kind: 'note' } },
      { actor: 'alice', payload: promotion('p-1') },
    ]);
    assert.deepEqual(evaluateCompliance(stream), [
      { ruleId: 'prod-promotion-four-eyes', severity: 'critical', seq: 1, message: 'promotion p-1 to prod has no approval' },
    ]);
  });

  it('reports a promotion approved only by its requester, or only rejected by someone else', () => {
    const selfApproved = records([
      { actor: 'alice', payload: approval('p-1') },
      { actor: 'alice', payload: promotion('p-1') },
    ]);
    assert.match(evaluateCompliance(selfApproved)[0]?.message ?? '', /approved only by its requester alice/);
    const rejected = records([
      { actor: 'bob', payload: approval('p-2', 'reject') },
      { actor: 'alice', payload: promotion('p-2') },
    ]);
    assert.equal(evaluateCompliance(rejected).length, 1);
  });

  it('takes the requester from payload.requestedBy when a pipeline records the promotion', () => {
    const stream = records([
      { actor: 'alice', payload: approval('p-1') },
      { actor: 'system:deployer', payload: { ...promotion('p-1'), requestedBy: 'alice' } },
    ]);
    assert.equal(evaluateCompliance(stream)[0]?.seq, 1);
  });

  it('ignores promotions to other environments and promotions whose payload expired', () => {
    const stream = records([
      { actor: 'alice', payload: promotion('p-1', 'staging') },
      { actor: 'alice', payload: promotion('p-2') },
    ]);
    const expired = stream.map((record, seq) => (seq === 1 ? { ...record, payload: 'expired' as const } : record));
    assert.deepEqual(evaluateCompliance(expired), []);
  });
});

describe('compliance: actors and correlation', () => {
  it('reports an entry with an empty actor and a system action without a correlation id', () => {
    const stream = records([
      { actor: '  ', payload: { kind: 'note' } },
      { actor: 'system:scheduler', payload: { kind: 'note' }, correlationId: null },
      { actor: 'system:scheduler', payload: { kind: 'note' }, correlationId: 'run-7' },
      { actor: 'carol', payload: { kind: 'note' }, correlationId: null },
    ]);
    assert.deepEqual(
      evaluateCompliance(stream).map(({ ruleId, seq }) => ({ ruleId, seq })),
      [
        { ruleId: 'actor-required', seq: 0 },
        { ruleId: 'system-correlation-required', seq: 1 },
      ],
    );
  });
});

describe('compliance: rules as data', () => {
  it('runs a custom rule from a registry extended with a new predicate', () => {
    const noDeletes: RulePredicate = (all, params) =>
      all
        .filter((record) => record.payload !== 'expired' && record.payload?.kind === params.forbidden)
        .map((record) => ({ seq: record.entry.seq, message: `forbidden ${String(params.forbidden)}` }));
    const rules: ComplianceRule[] = [
      {
        id: 'no-deletes',
        severity: 'high',
        description: 'Nothing is deleted.',
        predicate: 'forbidden-kind',
        params: { forbidden: 'delete' },
      },
    ];
    const stream = records([{ actor: 'a', payload: { kind: 'delete' } }]);
    assert.deepEqual(evaluateCompliance(stream, rules, { ...defaultPredicates, 'forbidden-kind': noDeletes }), [
      { ruleId: 'no-deletes', severity: 'high', seq: 0, message: 'forbidden delete' },
    ]);
  });

  it('refuses a rule naming an unknown predicate instead of passing silently', () => {
    assert.throws(() => evaluateCompliance([], [{ id: 'x', severity: 'low', description: '', predicate: 'toString' }]), {
      name: 'ValidationError',
      message: /unknown predicate toString/,
    });
  });
});
