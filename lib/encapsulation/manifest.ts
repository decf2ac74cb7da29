/**
 * The Encapsulation engine: cycles, module boundaries, interfaces inferred from observed payloads and
 * reusability scores of a tenant's components; exposing an interface goes through governance (L3) and
 * the Versioning engine. State-table items: <tenant>#encapsulation (`latest` analysis, `exposure#…`),
 * #outbox. Reads the Reflex registry (#reflex#components) and the ledger (stream entries and their
 * payloads); tagging reads and writes what the Versioning engine's tag function does.
 */
import { defineEngine, type Need, need, outboxNeeds } from '../engines/manifest.ts';
import { analyseRoute, interfacesRoute, statusRoute } from './routes.ts';

const STATE = '*#encapsulation';

/** `propose()` in process: what governance's proposals function needs (lib/governance/manifest.ts). */
const propose: Need[] = [
  need.table('state', ['GetItem'], ['*#governance', '*#governance#policies']),
  need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
  need.table('state', ['GetItem', 'Query'], ['*#reflex#components']),
  need.startGate(),
];

export const encapsulationEngine = defineEngine({
  name: 'encapsulation',
  description:
    "Cycles (Tarjan), module boundaries (Louvain), interfaces inferred from observed payloads (JSON Schema 2020-12, OpenAPI 3.1) and reusability scores of a tenant's components; interfaces exposed through L3 validation and the Versioning engine",
  actions: {
    analyse: {
      description:
        "Analyses the tenant's registry and the ledger's correlated trace entries (or an explicit graph), stores it as the latest and records it in the ledger",
      routes: [analyseRoute],
      memorySize: 1024,
      timeout: 29,
      needs: [
        need.table('state', ['GetItem', 'Query'], ['*#reflex#components']),
        need.table('ledger', ['Query']),
        need.objects('artifacts', ['GetObject'], ['*/audit/payloads/*']),
        need.listObjects('artifacts', ['*/audit/payloads/*']),
        need.table('state', ['GetItem', 'PutItem'], [STATE]),
        need.objects('artifacts', ['GetObject', 'PutObject'], ['*/encapsulation/analyses/*']),
        ...outboxNeeds,
      ],
    },
    status: {
      description: "Reads the tenant's latest analysis",
      routes: [statusRoute],
      needs: [need.table('state', ['GetItem'], [STATE]), need.objects('artifacts', ['GetObject'], ['*/encapsulation/analyses/*'])],
    },
    interfaces: {
      description:
        "Exposes a module's interface: an L3 proposal, waited for; once approved, a version of its schema tagged by the Versioning engine, in the ledger (a pending one finished by the next call)",
      routes: [interfacesRoute],
      timeout: 29,
      needs: [
        need.table('state', ['GetItem', 'PutItem'], [STATE]),
        need.objects('artifacts', ['GetObject'], ['*/encapsulation/analyses/*']),
        need.table('state', ['GetItem', 'Query', 'PutItem'], ['*#versioning#artifacts', '*#versioning#versions']),
        need.objects('artifacts', ['GetObject', 'PutObject'], ['*/versioning/bodies/*']),
        ...propose,
        ...outboxNeeds,
      ],
    },
  },
});
