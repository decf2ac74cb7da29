/**
 * Roles and permissions. A permission is `<engine>:<verb>`; a role grants verbs on every engine.
 *
 * | role     | may                                                                 |
 * |----------|---------------------------------------------------------------------|
 * | viewer   | read: status, forecasts, ledger exports, proofs, findings           |
 * | operator | read, write (ingest, record, trigger) and configure engines         |
 * | approver | read, and approve or reject gated actions                           |
 * | admin    | everything, including API keys and signing-key rotation             |
 *
 * An approver is deliberately not an operator: who asks for a risky action and who approves it
 * should be different people.
 */
import { z } from 'zod';

/** The roles, least to most powerful. */
export const roleNames = ['viewer', 'operator', 'approver', 'admin'] as const;
/** A role name. */
export type Role = (typeof roleNames)[number];
/** Zod schema of a role name. */
export const roleSchema = z.enum(roleNames);

/** What a permission lets its holder do to an engine. */
export const verbs = ['read', 'write', 'configure', 'approve', 'admin'] as const;
/** A verb of a permission. */
export type Verb = (typeof verbs)[number];
/** `<engine>:<verb>`, e.g. `observation:write`. */
export type Permission = `${string}:${Verb}`;

const VERBS_BY_ROLE: Readonly<Record<Role, readonly Verb[]>> = {
  viewer: ['read'],
  operator: ['read', 'write', 'configure'],
  approver: ['read', 'approve'],
  admin: verbs,
};

/** Human-readable grants per role, for docs and the OpenAPI description. */
export function roleGrants(): Record<Role, readonly Verb[]> {
  return { ...VERBS_BY_ROLE };
}

/** True when any of `roles` grants `permission`. */
export function rolesAllow(roles: readonly Role[], permission: Permission): boolean {
  const verb = permission.slice(permission.lastIndexOf(':') + 1) as Verb;
  return roles.some((role) => VERBS_BY_ROLE[role].includes(verb));
}
