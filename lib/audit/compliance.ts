/**
 * Compliance as code: rules over ledger entries and their payloads, producing findings.
 *
 * A rule is plain data (`ComplianceRule`: id, severity, description, the name of a predicate and
 * its parameters), so rule sets can live in configuration or a table. The logic lives in a
 * registry of predicates (`RulePredicate`), pure functions from the records to violations.
 *
 * Adding a rule:
 *  1. If an existing predicate fits, add a `ComplianceRule` naming it with new `params` — data only.
 *  2. Otherwise write a `RulePredicate` (records + params in, `{ seq, message }[]` out; no I/O),
 *     register it under a new name — `{ ...defaultPredicates, 'my-check': myCheck }` — and pass
 *     that registry to `evaluateCompliance`. Add a test with one passing and one failing stream.
 * A rule naming an unknown predicate is a configuration error (ValidationError), never a silent pass.
 */
import { ValidationError } from '../errors.ts';
import type { LedgerEntry, Payload } from './schemas.ts';

/** How bad a finding is. */
export type Severity = 'critical' | 'high' | 'medium' | 'low';

/** One entry with its payload (`'expired'` or undefined when retention deleted it). */
export interface ComplianceRecord {
  entry: LedgerEntry;
  payload?: Payload | 'expired';
}

/** A rule, as plain data. */
export interface ComplianceRule {
  id: string;
  severity: Severity;
  description: string;
  /** Name of the predicate in the registry. */
  predicate: string;
  params?: Record<string, unknown>;
}

/** A violation of a rule at one entry. */
export interface Finding {
  ruleId: string;
  severity: Severity;
  seq: number;
  message: string;
}

/** A violation as a predicate reports it; `evaluateCompliance` adds the rule's id and severity. */
export interface Violation {
  seq: number;
  message: string;
}

/** A rule's logic: pure, records and the rule's params in, violations out. */
export type RulePredicate = (records: readonly ComplianceRecord[], params: Record<string, unknown>) => Violation[];

function payloadOf(record: ComplianceRecord): Payload | undefined {
  return record.payload === undefined || record.payload === 'expired' ? undefined : record.payload;
}

function stringParam(params: Record<string, unknown>, name: string, fallback: string): string {
  const value = params[name];
  return typeof value === 'string' ? value : fallback;
}

/**
 * Every promotion to `params.environment` (default 'prod') has an approval entry
 * (`payload.kind === 'approval'`, `payload.subject` = the promotion's `payload.id`) whose actor
 * differs from the requester (`payload.requestedBy`, else the promotion entry's actor). An
 * approval with `payload.decision` other than 'approve' does not count. Promotions whose payload
 * expired cannot be judged and are skipped.
 */
export const promotionApprovedByOther: RulePredicate = (records, params) => {
  const environment = stringParam(params, 'environment', 'prod');
  const approvers = new Map<string, Set<string>>();
  for (const record of records) {
    const payload = payloadOf(record);
    if (payload?.kind !== 'approval' || typeof payload.subject !== 'string') continue;
    if (payload.decision !== undefined && payload.decision !== 'approve') continue;
    const set = approvers.get(payload.subject) ?? new Set<string>();
    set.add(record.entry.actor);
    approvers.set(payload.subject, set);
  }
  const violations: Violation[] = [];
  for (const record of records) {
    const payload = payloadOf(record);
    if (payload?.kind !== 'promotion' || payload.environment !== environment) continue;
    const id = typeof payload.id === 'string' ? payload.id : undefined;
    const requester = typeof payload.requestedBy === 'string' ? payload.requestedBy : record.entry.actor;
    if (id === undefined) {
      violations.push({ seq: record.entry.seq, message: `promotion to ${environment} has no id, so no approval can reference it` });
      continue;
    }
    const others = [...(approvers.get(id) ?? [])].filter((actor) => actor !== '' && actor !== requester);
    if (others.length === 0) {
      const selfApproved = approvers.get(id)?.has(requester) ?? false;
      violations.push({
        seq: record.entry.seq,
        message: selfApproved
          ? `promotion ${id} to ${environment} was approved only by its requester ${requester}`
          : `promotion ${id} to ${environment} has no approval`,
      });
    }
  }
  return violations;
};

/** Every entry names its actor (not empty or blank). */
export const actorPresent: RulePredicate = (records) =>
  records
    .filter((record) => record.entry.actor.trim() === '')
    .map((record) => ({ seq: record.entry.seq, message: `entry ${record.entry.seq} has no actor` }));

/** Entries by system actors (actor starting with `params.prefix`, default 'system:') carry a correlation id. */
export const systemActionCorrelated: RulePredicate = (records, params) => {
  const prefix = stringParam(params, 'prefix', 'system:');
  return records
    .filter((record) => record.entry.actor.startsWith(prefix) && (record.entry.correlationId ?? '').trim() === '')
    .map((record) => ({ seq: record.entry.seq, message: `system action by ${record.entry.actor} has no correlation id` }));
};

/** The built-in predicate registry. */
export const defaultPredicates: Readonly<Record<string, RulePredicate>> = {
  'promotion-approved-by-other': promotionApprovedByOther,
  'actor-present': actorPresent,
  'system-action-correlated': systemActionCorrelated,
};

/** The built-in rule set. */
export const defaultRules: readonly ComplianceRule[] = [
  {
    id: 'prod-promotion-four-eyes',
    severity: 'critical',
    description: 'Every promotion to prod is approved by someone other than its requester.',
    predicate: 'promotion-approved-by-other',
    params: { environment: 'prod' },
  },
  { id: 'actor-required', severity: 'high', description: 'Every entry names the actor who caused it.', predicate: 'actor-present' },
  {
    id: 'system-correlation-required',
    severity: 'medium',
    description: 'Actions by system actors carry a correlation id, so they can be traced to their cause.',
    predicate: 'system-action-correlated',
    params: { prefix: 'system:' },
  },
];

/**
 * Evaluates rules over records, returning findings ordered by seq, then rule id.
 *
 * @throws ValidationError when a rule names a predicate missing from the registry.
 * @example
 * const findings = evaluateCompliance(entries.map((entry) => ({ entry, payload: payloads.get(entry.payloadHash) })));
 */
export function evaluateCompliance(
  records: readonly ComplianceRecord[],
  rules: readonly ComplianceRule[] = defaultRules,
  predicates: Readonly<Record<string, RulePredicate>> = defaultPredicates,
): Finding[] {
  const findings: Finding[] = [];
  for (const rule of rules) {
    const predicate = Object.hasOwn(predicates, rule.predicate) ? predicates[rule.predicate] : undefined;
    if (predicate === undefined)
      throw new ValidationError([{ path: `rules.${rule.id}.predicate`, message: `unknown predicate ${rule.predicate}` }]);
    for (const violation of predicate(records, rule.params ?? {})) {
      findings.push({ ruleId: rule.id, severity: rule.severity, seq: violation.seq, message: violation.message });
    }
  }
  return findings.sort((a, b) => a.seq - b.seq || a.ruleId.localeCompare(b.ruleId));
}
