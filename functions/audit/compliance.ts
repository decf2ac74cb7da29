/**
 * Scheduled: evaluates the compliance rules over every stream that grew since the last run,
 * stores each new finding once (GET /audit/findings) and publishes `audit.finding.raised` for it.
 * The stream of the Audit engine's own events is never evaluated, so findings cannot breed findings.
 */
import { auditLedger, auditPayloads, auditPublisher, auditState } from '../../lib/adapters/aws/audit-deps.ts';
import { evaluateStream } from '../../lib/audit/engine.ts';
import { scheduledJob } from '../../lib/triggers/schedule.ts';

export const handler = scheduledJob({
  name: 'AuditCompliance',
  concurrency: 4,
  targets: async ({ tenants }) => (await auditState().registry.list()).filter((ref) => tenants === undefined || tenants.includes(ref.tenant)),
  describe: (ref) => ({ tenant: ref.tenant, stream: ref.stream }),
  run: async (ref, { now }) => {
    const state = auditState();
    const deps = { ledger: auditLedger(), payloads: auditPayloads(), findings: state.findings, state: state.settings, publisher: auditPublisher(), now: () => now };
    return (await evaluateStream(deps, ref)).length;
  },
  summarize: (raised) => ({ raised: raised.reduce((sum, count) => sum + count, 0) }),
});
