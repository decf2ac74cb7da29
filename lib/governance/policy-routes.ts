/**
 * Routes of a tenant's Cedar policy set: read the current version (GET), publish a new one (PUT,
 * validated against the stage's schema first), and simulate a candidate against the decisions the
 * ledger recorded (POST …/simulate). All three are break-glass routes (lib/governance/policy.ts):
 * an admin reaches them whatever the tenant's own policies say.
 */
import { z } from 'zod';
import { sha256HexSchema } from '../../events/common.ts';
import { defineRoute } from '../api/route.ts';
import { policyLayersSchema } from './profiles.ts';

/** Most policies one tenant's document may hold (base profile included): what one event can name. */
export const MAX_POLICIES_PER_SET = 1000;
/** Most recorded decisions one simulation replays. */
export const MAX_SIMULATED_DECISIONS = 1000;

const policyIdSchema = z.string().max(256);
const policyIdsSchema = z
  .array(policyIdSchema)
  .max(MAX_POLICIES_PER_SET)
  .describe('Namespaced ids (base/…, team/…, env/<environment>/…) in composition order');
const versionSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const hashSchema = sha256HexSchema.describe(
  'SHA-256 of the canonical JSON (RFC 8785) of the layers; recorded in the ledger with each version',
);
const issueSchema = z.object({ path: z.string().max(64), message: z.string().max(1000) });

/** GET /governance/policies: the tenant's current policy set. */
export const getPoliciesRoute = defineRoute({
  engine: 'governance',
  action: 'policies',
  method: 'GET',
  permission: 'governance:read',
  summary: "The tenant's current Cedar policy set: its version, hash, layers, the base profile under them and every policy id",
  parameters: z.object({}),
  result: z.object({
    policyVersion: versionSchema.describe('0: the base profile alone'),
    hash: hashSchema,
    layers: policyLayersSchema,
    base: z.string().max(10_000).describe('The base profile every tenant starts from (lib/governance/profiles.ts)'),
    policyIds: policyIdsSchema,
    issues: z
      .array(issueSchema)
      .max(101)
      .optional()
      .describe("Present when the stored set no longer validates against the stage's schema: it then denies everything but break-glass"),
  }),
});

/** PUT /governance/policies (admin): validate, store version N+1, make it current. */
export const putPoliciesRoute = defineRoute({
  engine: 'governance',
  action: 'policies',
  method: 'PUT',
  permission: 'governance:admin',
  summary:
    "Publish a new version of the tenant's Cedar policy set (team and per-environment layers over the base profile); invalid Cedar is a 400 quoting the validator and nothing is stored",
  parameters: z.object({ policies: policyLayersSchema }),
  result: z.object({
    policyVersion: versionSchema,
    previousVersion: versionSchema,
    hash: hashSchema,
    policyIds: policyIdsSchema,
    breakGlass: z.boolean().describe("True when the tenant's own policies forbid this route and an admin used break-glass"),
  }),
});

const decisionSchema = z.enum(['allow', 'deny']);

/** POST /governance/policies/simulate (admin): what a candidate set would change, before anyone applies it. */
export const simulatePoliciesRoute = defineRoute({
  engine: 'governance',
  action: 'simulate',
  method: 'POST',
  path: '/governance/policies/simulate',
  permission: 'governance:admin',
  summary:
    "Replay the tenant's last recorded proposal decisions (from the ledger) against a candidate policy set and list those it would change; nothing is stored",
  parameters: z.object({
    policies: policyLayersSchema,
    limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_SIMULATED_DECISIONS)
      .default(100)
      .describe('How many of the newest recorded decisions to replay'),
  }),
  result: z.object({
    evaluated: z.number().int().min(0).max(MAX_SIMULATED_DECISIONS),
    changed: z
      .array(
        z.object({
          proposalId: z.string().max(256),
          before: decisionSchema,
          after: decisionSchema,
          policiesBefore: z.array(policyIdSchema).max(100),
          policiesAfter: z.array(policyIdSchema).max(100),
        }),
      )
      .max(MAX_SIMULATED_DECISIONS),
    skipped: z.array(z.object({ proposalId: z.string().max(256), reason: z.string().max(1000) })).max(MAX_SIMULATED_DECISIONS),
    scanned: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('Ledger entries read to find them'),
    truncated: z.boolean().describe('True when the ledger was not read back far enough to find `limit` decisions (time or scan budget)'),
  }),
});
