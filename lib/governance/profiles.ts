/**
 * Policy profiles: the base profile every tenant starts from, and the layers a tenant adds on top.
 *
 * Composition (base → team → capsules → environment). A request is decided by ONE Cedar policy set:
 * `base ∪ team ∪ capsules ∪ environments[request's environment]` (a route request has no
 * environment, so no environment layer applies to it). The capsule layers are the guardrails of the
 * capsules the tenant installed (lib/capsules/), one layer per capsule, written by install and
 * uninstall: each holds only `forbid`s on that capsule's own principal, so it narrows what the
 * capsule may do and nothing else. Cedar's semantics then hold across the layers: any `forbid`
 * that matches wins; otherwise any matching `permit` allows; otherwise the request is denied. So
 * a later layer can narrow what an earlier one permits (a `forbid`) or permit more (a `permit`),
 * and no layer can undo another layer's `forbid`.
 *
 * Policy ids are namespaced by layer: `base/<id>`, `team/<id>`, `capsule/<name>/<id>`, `env/<environment>/<id>`, where
 * `<id>` is the policy's `@id("…")` annotation or, without one, `policy<N>` by its position in
 * the layer's text (0-based, as Cedar numbers policies). Decisions name these ids.
 */
import { z } from 'zod';
import { capsuleNameSchema } from '../../events/ids.ts';
import { type Environment, environmentSchema, environments } from './model.ts';

/**
 * The base profile: what a new tenant's roles allow, so it works out of the box.
 *
 * - `route`: every route action is permitted. The API has already checked the caller's role for
 *   the route's permission before Cedar runs; tenant layers narrow from here with `forbid`s.
 * - `operators-actuate`: principals whose roles contain `operator` or `admin` may propose any
 *   actuation on a target of their own tenant.
 * - `engines-actuate`: an engine's own service principal (`Engine`) may propose any actuation on
 *   a target of the tenant it acts for.
 *
 * Viewers and approvers hold no actuation permit: an approver approves what others propose.
 */
export const BASE_PROFILE = `// Base profile: what a tenant's roles allow (lib/governance/profiles.ts).
@id("routes")
permit (principal, action in Autonomy::Action::"route", resource);

@id("operators-actuate")
permit (principal, action in Autonomy::Action::"actuation", resource is Autonomy::Target)
when { principal.roles.containsAny(["operator", "admin"]) && principal.tenant == resource.tenant };

@id("engines-actuate")
permit (principal is Autonomy::Engine, action in Autonomy::Action::"actuation", resource is Autonomy::Target)
when { principal.tenant == resource.tenant };
`;

/** Longest Cedar text of one layer (characters). */
export const MAX_LAYER_LENGTH = 100_000;

const layerTextSchema = z.string().max(MAX_LAYER_LENGTH, `a layer holds at most ${MAX_LAYER_LENGTH} characters of Cedar`);

/** Most installed capsules' layers one document holds. */
export const MAX_CAPSULE_LAYERS = 50;

/**
 * A tenant's policy document: Cedar text per layer, on top of {@link BASE_PROFILE}. `team` applies
 * to every request; `capsules[name]` (an installed capsule's guardrails, managed by install and
 * uninstall) to every request too; `environments[env]` only to actuations in `env`. Empty text is an
 * empty layer.
 */
export const policyLayersSchema = z
  .object({
    team: layerTextSchema.optional(),
    capsules: z
      .record(capsuleNameSchema, layerTextSchema)
      .refine((layers) => Object.keys(layers).length <= MAX_CAPSULE_LAYERS, `at most ${MAX_CAPSULE_LAYERS} capsule layers`)
      .optional()
      .describe("Installed capsules' guardrails by capsule name (POST and DELETE /capsules/installs write them)"),
    environments: z.partialRecord(environmentSchema, layerTextSchema).optional(),
  })
  .strict();
/** A tenant's policy layers. */
export type PolicyLayers = z.infer<typeof policyLayersSchema>;

/** Name of a layer, as errors and policy ids show it: `base`, `team`, `env/<environment>`. */
export type LayerName = 'base' | 'team' | `capsule/${string}` | `env/${Environment}`;

/** One layer of a composed policy set, in composition order. */
export interface PolicyLayer {
  name: LayerName;
  text: string;
}

/** The capsule layers of a document, by capsule name (so the composition does not depend on key order). */
function capsuleLayers(layers: PolicyLayers | undefined, keepEmpty: boolean): PolicyLayer[] {
  return Object.entries(layers?.capsules ?? {})
    .filter(([, text]) => keepEmpty || text !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, text]) => ({ name: `capsule/${name}`, text }));
}

/**
 * The layers that decide a request, in composition order: base, team, the installed capsules'
 * layers, then the environment's layer when `environment` is given (actuations) and the tenant has one.
 */
export function layersFor(layers: PolicyLayers | undefined, environment: Environment | undefined): PolicyLayer[] {
  const chosen: PolicyLayer[] = [{ name: 'base', text: BASE_PROFILE }];
  if (layers?.team) chosen.push({ name: 'team', text: layers.team });
  chosen.push(...capsuleLayers(layers, false));
  const envText = environment === undefined ? undefined : layers?.environments?.[environment];
  if (environment !== undefined && envText) chosen.push({ name: `env/${environment}`, text: envText });
  return chosen;
}

/** Every layer of a document (base, team, each capsule by name, each environment in `environments` order), for validation. */
export function allLayers(layers: PolicyLayers | undefined): PolicyLayer[] {
  const chosen: PolicyLayer[] = [{ name: 'base', text: BASE_PROFILE }];
  if (layers?.team !== undefined) chosen.push({ name: 'team', text: layers.team });
  chosen.push(...capsuleLayers(layers, true));
  for (const environment of environments) {
    const text = layers?.environments?.[environment];
    if (text !== undefined) chosen.push({ name: `env/${environment}`, text });
  }
  return chosen;
}
