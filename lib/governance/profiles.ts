/**
 * Policy profiles: the base profile every tenant starts from, and the layers a tenant adds on top.
 *
 * Composition (base → team → environment). A request is decided by ONE Cedar policy set:
 * `base ∪ team ∪ environments[request's environment]` (a route request has no environment, so no
 * environment layer applies to it). Cedar's semantics then hold across the layers: any `forbid`
 * that matches wins; otherwise any matching `permit` allows; otherwise the request is denied. So
 * a later layer can narrow what an earlier one permits (a `forbid`) or permit more (a `permit`),
 * and no layer can undo another layer's `forbid`.
 *
 * Policy ids are namespaced by layer: `base/<id>`, `team/<id>`, `env/<environment>/<id>`, where
 * `<id>` is the policy's `@id("…")` annotation or, without one, `policy<N>` by its position in
 * the layer's text (0-based, as Cedar numbers policies). Decisions name these ids.
 */
import { z } from 'zod';
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

/**
 * A tenant's policy document: Cedar text per layer, on top of {@link BASE_PROFILE}. `team` applies
 * to every request; `environments[env]` only to actuations in `env`. Empty text is an empty layer.
 */
export const policyLayersSchema = z
  .object({
    team: layerTextSchema.optional(),
    environments: z.partialRecord(environmentSchema, layerTextSchema).optional(),
  })
  .strict();
/** A tenant's policy layers. */
export type PolicyLayers = z.infer<typeof policyLayersSchema>;

/** Name of a layer, as errors and policy ids show it: `base`, `team`, `env/<environment>`. */
export type LayerName = 'base' | 'team' | `env/${Environment}`;

/** One layer of a composed policy set, in composition order. */
export interface PolicyLayer {
  name: LayerName;
  text: string;
}

/**
 * The layers that decide a request, in composition order: base, team, then the environment's
 * layer when `environment` is given (actuations) and the tenant has one.
 */
export function layersFor(layers: PolicyLayers | undefined, environment: Environment | undefined): PolicyLayer[] {
  const chosen: PolicyLayer[] = [{ name: 'base', text: BASE_PROFILE }];
  if (layers?.team) chosen.push({ name: 'team', text: layers.team });
  const envText = environment === undefined ? undefined : layers?.environments?.[environment];
  if (environment !== undefined && envText) chosen.push({ name: `env/${environment}`, text: envText });
  return chosen;
}

/** Every layer of a document (base, team, each environment in `environments` order), for validation. */
export function allLayers(layers: PolicyLayers | undefined): PolicyLayer[] {
  const chosen: PolicyLayer[] = [{ name: 'base', text: BASE_PROFILE }];
  if (layers?.team !== undefined) chosen.push({ name: 'team', text: layers.team });
  for (const environment of environments) {
    const text = layers?.environments?.[environment];
    if (text !== undefined) chosen.push({ name: `env/${environment}`, text });
  }
  return chosen;
}
