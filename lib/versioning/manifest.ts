/**
 * The Versioning engine: artifacts (tool and interface schemas, prompt templates, configurations,
 * capsules) versioned with semver, each tag diffed against the latest version, a compatibility
 * matrix, a regression gate, and governance approval for breaking versions (proposed in process as
 * `engine:versioning`). State-table items by partition-key prefix: <tenant>#versioning#artifacts
 * (each artifact's head), #versioning#versions (each version), #outbox (tags' and updates' events,
 * recorded in the ledger). Objects: <tenant>/versioning/bodies/<sha256>.json (bodies above 32 KiB).
 * Proposing reads and writes what governance's proposals function does.
 */
import { defineEngine, type Need, need, outboxNeeds } from '../engines/manifest.ts';
import { compatibilityRoute, gateRoute, listRoute, promotableRoute, tagRoute } from './routes.ts';

const ARTIFACTS = '*#versioning#artifacts';
const VERSIONS = '*#versioning#versions';
const BODIES = '*/versioning/bodies/*';

/** `propose()` in process: what governance's proposals function needs (lib/governance/manifest.ts). */
const propose: Need[] = [
  need.table('state', ['GetItem'], ['*#governance', '*#governance#policies']),
  need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
  need.table('state', ['GetItem', 'Query'], ['*#reflex#components']),
  need.startGate(),
];

/** Reading versions (heads, items, large bodies). */
const read: Need[] = [need.table('state', ['GetItem', 'Query'], [ARTIFACTS, VERSIONS])];

export const versioningEngine = defineEngine({
  name: 'versioning',
  description:
    'Semver versions of schemas, prompt templates, configurations and capsules: breaking-change diffs, compatibility matrix, regression gate, approval of breaking versions',
  actions: {
    versions: {
      description:
        "Tags a new version of an artifact (diffed against the latest, bump derived, golden set checked, a breaking version proposed to governance, the tag in the ledger) and lists an artifact's versions",
      routes: [tagRoute, listRoute],
      timeout: 29,
      needs: [
        ...read,
        need.table('state', ['PutItem'], [ARTIFACTS, VERSIONS]),
        need.objects('artifacts', ['GetObject', 'PutObject'], [BODIES]),
        ...propose,
        ...outboxNeeds,
      ],
    },
    compatibility: {
      description: "The compatibility matrix of an artifact's versions",
      routes: [compatibilityRoute],
      needs: read,
    },
    gate: {
      description: "Records a version's regression test-suite result, in the ledger",
      routes: [gateRoute],
      needs: [...read, need.table('state', ['PutItem'], [VERSIONS]), ...outboxNeeds],
    },
    promotable: {
      description:
        'Whether a version may be promoted (gate passed; a breaking version approved), recording a governance decision made since on the version and in the ledger',
      routes: [promotableRoute],
      needs: [...read, need.table('state', ['GetItem'], ['*#proposal']), need.table('state', ['PutItem'], [VERSIONS]), ...outboxNeeds],
    },
  },
});
