/** Routes of the Encapsulation engine: analyse, the latest analysis, and exposing a module's interface. */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';
import { analyseInputSchema, analysisSchema, exposeInputSchema, exposureSchema } from './schemas.ts';

/** POST /encapsulation/analyse. */
export const analyseRoute = defineRoute({
  engine: 'encapsulation',
  action: 'analyse',
  method: 'POST',
  permission: 'encapsulation:write',
  summary:
    "Analyse the tenant's components: from the Reflex registry and the ledger's recent trace entries (entries sharing a correlation id, `payload.component`, optional `caller`, `operation`, `request`, `response`), or from an explicit graph with payload samples. Answers the cycles (Tarjan), the modules (Louvain, seeded), each module's reusability score with its parts and its interface (JSON Schema 2020-12 and OpenAPI 3.1 inferred from the samples); recorded in the ledger",
  parameters: analyseInputSchema,
  result: analysisSchema,
});

/** GET /encapsulation/status. */
export const statusRoute = defineRoute({
  engine: 'encapsulation',
  action: 'status',
  method: 'GET',
  permission: 'encapsulation:read',
  summary: "The tenant's latest analysis (404 before the first)",
  parameters: z.strictObject({}),
  result: analysisSchema,
});

/** POST /encapsulation/interfaces. */
export const interfacesRoute = defineRoute({
  engine: 'encapsulation',
  action: 'interfaces',
  method: 'POST',
  permission: 'encapsulation:write',
  summary:
    "Expose a module's interface from the latest analysis: an encapsulation:expose-interface proposal (L3 validation at least; 403/423 when policy or a kill switch refuses it), waited for up to 20 s; once approved, its interface schema is tagged as a new version of a schema artifact by the Versioning engine (the schema diff derives the bump; a breaking change waits for people's approval; the observed requests are its golden set), recorded in the ledger: 201 `exposed`. 202 `pending` with the proposal id while it waits at the gate (nothing tagged: the same call again finishes it); 200 `rejected` (not approved, nothing tagged) or `tag-failed` (approved, the tag failed with its reason; the same call again retries it), both recorded in the ledger. 404 without an analysis or module, 409 when the interface equals the latest version",
  parameters: exposeInputSchema,
  result: exposureSchema,
});
