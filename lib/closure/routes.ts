/** Routes of the Closure engine: request a termination, the tenant's lifecycle policy, and the status of terminations. */
import { defineRoute } from '../api/route.ts';
import { lifecyclePolicySchema, statusInputSchema, statusReplySchema, terminationInputSchema, terminationReplySchema } from './schemas.ts';

/** POST /closure/terminations. */
export const terminationsRoute = defineRoute({
  engine: 'closure',
  action: 'terminations',
  method: 'POST',
  permission: 'closure:write',
  summary:
    "Request the termination of a Reflex-registered component or an installed capsule (`capsule/<name>`): the dependencies are validated (409 naming the live dependents unless `cascade`, which terminates them first in topological order; 409 naming a cycle in a cascade), the plan (quiesce, archive to S3, revoke its API keys, deregister/uninstall, a final ledger record) is hashed and proposed to governance as closure:terminate, which waits for the lifecycle policy's k approvers (POST /governance/approvals; one identity counts once, any rejection rejects). 202 with the plan and the proposal; once approved the plan runs on its own (GET /closure/status). 404 for an unknown target, 423 under a kill switch",
  parameters: terminationInputSchema,
  result: terminationReplySchema,
});

/** PUT /closure/policies. */
export const policiesRoute = defineRoute({
  engine: 'closure',
  action: 'policies',
  method: 'PUT',
  permission: 'closure:admin',
  summary:
    "Replace the tenant's lifecycle policy: per component kind (and a default), the approvals a termination needs, the archive's retention and which clean-up steps run; recorded in the ledger",
  parameters: lifecyclePolicySchema,
  result: lifecyclePolicySchema,
});

/** GET /closure/status. */
export const statusRoute = defineRoute({
  engine: 'closure',
  action: 'status',
  method: 'GET',
  permission: 'closure:read',
  summary:
    "The tenant's terminations, newest first, or one (`terminationId`): status, plan, each step's result, the archive key and manifest hash, the approvers and the time from approval to the final record",
  parameters: statusInputSchema,
  result: statusReplySchema,
});
