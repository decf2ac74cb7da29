/**
 * The Closure engine: safe termination of a Reflex-registered component or an installed capsule —
 * lifecycle policy, dependency validation (no live dependents, or an ordered cascade), a plan proposed
 * to governance (`closure:terminate`, k of n approvers), and, once approved, its steps run in order by
 * `execute` (the target of `governance.proposal.settled`): quiesce, archive to S3, revoke credentials,
 * deregister / uninstall, a final ledger entry.
 *
 * Why a rule target and not a state machine: the waiting is governance's gate's (its own state
 * machine, with the kill switch and the approvals), and the steps after it are a handful of short,
 * idempotent calls (each step recorded on the termination, so a redelivered event resumes after the
 * last step done) — well inside one invocation, as governance's `gate-resume` is woken.
 *
 * State-table items: <tenant>#closure (`termination#<id>`, `policy`), #outbox; objects
 * `<tenant>/closure/archives/<id>.json`. Reads the Reflex registry (#reflex#components, replaced on
 * deregistration), API keys (#apikey, revoked), capsule installs, governance's proposals and approvals.
 */
import { defineEngine, type Need, need, outboxNeeds } from '../engines/manifest.ts';
import { policiesRoute, statusRoute, terminationsRoute } from './routes.ts';

const STATE = '*#closure';

/** `propose()` in process (lib/governance/manifest.ts). */
const propose: Need[] = [
  need.table('state', ['GetItem'], ['*#governance', '*#governance#policies']),
  need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
  need.table('state', ['GetItem', 'Query'], ['*#reflex#components']),
  need.startGate(),
];

export const closureEngine = defineEngine({
  name: 'closure',
  description:
    'Safe termination of components and capsules: lifecycle policy, dependency validation or an ordered cascade, k-of-n approval through governance, quiesce, archive to S3, credential revocation, clean-up in order and a final ledger entry proving it',
  actions: {
    terminations: {
      description: 'Validates the dependencies, plans, hashes and proposes a termination (closure:terminate, waiting for people)',
      routes: [terminationsRoute],
      timeout: 29,
      needs: [
        need.table('state', ['GetItem', 'PutItem'], [STATE]),
        need.table('state', ['Query'], ['*#apikey']),
        need.table('state', ['GetItem'], ['*#capsules#installs']),
        ...propose,
        ...outboxNeeds,
      ],
    },
    policies: {
      description: "Replaces the tenant's lifecycle policy",
      routes: [policiesRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [STATE]), ...outboxNeeds],
    },
    status: {
      description: "The tenant's terminations with their plans and steps",
      routes: [statusRoute],
      needs: [need.table('state', ['GetItem', 'Query'], [STATE])],
    },
    execute: {
      description:
        'On governance.proposal.settled: runs an approved termination step by step (or ends a rejected one), each step in the ledger',
      rule: {
        pattern: {
          source: ['autonomy.governance'],
          'detail-type': ['governance.proposal.settled'],
          detail: { status: ['approved', 'rejected', 'timed-out', 'refused'] },
        },
      },
      timeout: 120,
      needs: [
        need.table('state', ['GetItem', 'PutItem'], [STATE]),
        need.table('state', ['GetItem', 'Query', 'PutItem', 'DeleteItem'], ['*#reflex#components']),
        need.table('state', ['Query', 'UpdateItem'], ['*#apikey']),
        need.table('state', ['GetItem'], ['*#approval']),
        // Governance: kill switches, the proposal and its outcome.
        need.table('state', ['GetItem'], ['*#governance']),
        need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
        // Quiesce: the quarantine binding's executor.
        need.actuate(['lambda', 'events', 'sagemaker']),
        // Archive: the tenant's latest signed checkpoints, to the archive object.
        need.table('state', ['Query'], ['*#audit#streams']),
        need.objects('artifacts', ['GetObject'], ['*/audit/checkpoints/*']),
        need.listObjects('artifacts', ['*/audit/checkpoints/*']),
        need.objects('artifacts', ['PutObject', 'PutObjectTagging'], ['*/closure/archives/*']),
        // Uninstalling a capsule (the capsules installs function's uninstall, in process).
        need.table('state', ['GetItem'], ['system#capsules#versions']),
        need.table('state', ['Query'], ['*#capsules#authors']),
        need.objects('artifacts', ['GetObject'], ['*/capsules/bundles/*']),
        need.listObjects('artifacts', ['*/capsules/bundles/*']),
        need.table('state', ['GetItem', 'Query', 'PutItem'], ['*#capsules#installs']),
        need.table('state', ['GetItem', 'PutItem'], ['*#governance#policies']),
        ...outboxNeeds,
      ],
    },
  },
});
