/**
 * A tenant's constitution: a document of principles and limits (in S3), its SHA-256 recorded in
 * the ledger. Every proposal records the hash it was judged under. A changed constitution locks
 * actuation (423) until `constitutionQuorum` admins other than its author ratify it.
 */
import { busEvent, type BusEvent } from '../events/publisher.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import type { TenantSettings } from './settings.ts';

/** Longest constitution, in characters. */
export const MAX_CONSTITUTION_LENGTH = 100_000;

/** The object key of a constitution version. */
export function constitutionKey(tenant: string, version: number): string {
  return `${tenant}/governance/constitution/v${version}.md`;
}

/**
 * A new constitution version, waiting for ratification.
 * @returns the next settings and the `governance.constitution.changed` event (state `proposed`).
 */
export function proposeConstitution(current: TenantSettings, change: { hash: string; actor: string; now: Date }): { next: TenantSettings; events: BusEvent[] } {
  const previous = current.constitution;
  const version = (previous?.version ?? 0) + 1;
  const previousHash = previous ? (previous.ratified ? previous.hash : previous.previousHash) : undefined;
  const next: TenantSettings = {
    ...current,
    constitution: {
      version,
      hash: change.hash,
      key: constitutionKey(current.tenant, version),
      author: change.actor,
      at: change.now.toISOString(),
      ratifiedBy: [],
      ratified: false,
      ...(previousHash ? { previousHash } : {}),
    },
  };
  const event = busEvent('governance.constitution.changed', { tenant: current.tenant, constitutionVersion: version, hash: change.hash, state: 'proposed', actor: change.actor, changedAt: change.now.toISOString() });
  return { next, events: [event] };
}

/**
 * One admin ratifies the waiting version; the quorum ratifies it and actuation resumes.
 * @throws NotFoundError when no such version waits; ConflictError when it is ratified already or this admin ratified it;
 *   ForbiddenError when its author ratifies it (separation of duties).
 */
export function ratifyConstitution(current: TenantSettings, vote: { version: number; actor: string; now: Date }): { next: TenantSettings; events: BusEvent[] } {
  const constitution = current.constitution;
  if (!constitution || constitution.version !== vote.version) throw new NotFoundError(`Constitution v${vote.version} of ${current.tenant} does not exist; the current version is ${constitution?.version ?? 'none'}`);
  if (constitution.ratified) throw new ConflictError(`Constitution v${vote.version} is already ratified`);
  if (constitution.author === vote.actor) throw new ForbiddenError('The author of a constitution cannot ratify it');
  if (constitution.ratifiedBy.includes(vote.actor)) throw new ConflictError(`${vote.actor} has already ratified constitution v${vote.version}`);
  const ratifiedBy = [...constitution.ratifiedBy, vote.actor];
  const ratified = ratifiedBy.length >= current.config.constitutionQuorum;
  const next: TenantSettings = { ...current, constitution: { ...constitution, ratifiedBy, ratified } };
  const events = ratified
    ? [busEvent('governance.constitution.changed', { tenant: current.tenant, constitutionVersion: constitution.version, hash: constitution.hash, state: 'ratified', actor: vote.actor, changedAt: vote.now.toISOString() })]
    : [];
  return { next, events };
}
