/**
 * A tenant's governance settings: autonomy level, quorum per risk level, gate timeouts, change
 * freezes, the kill switch, the constitution it is judged under and its policy set's version.
 * One record per tenant (`system` holds the global kill switch), written conditionally on its
 * version; a tenant that never configured anything gets {@link defaultSettings}.
 */
import { z } from 'zod';
import { actorSchema, tenantSchema } from '../../events/ids.ts';
import { ConflictError, LockedError } from '../errors.ts';
import type { BusEvent } from '../events/publisher.ts';
import type { GovernanceStore, OutboxPort } from './proposals.ts';
import { autonomyLevelSchema, DEFAULT_AUTONOMY_LEVEL, environmentSchema, type RiskLevel } from './model.ts';

/** A kill switch: while on, every actuation path answers 423. */
export const killSwitchSchema = z.object({
  enabled: z.boolean(),
  reason: z.string().max(2000),
  by: actorSchema,
  at: z.iso.datetime().max(64),
});
/** A kill switch's state. */
export type KillSwitch = z.infer<typeof killSwitchSchema>;

/** A change freeze: no L3-validated change to the listed environments between `from` and `to`. */
export const freezeWindowSchema = z
  .object({
    from: z.iso.datetime().max(64),
    to: z.iso.datetime().max(64),
    environments: z.array(environmentSchema).min(1).max(4).default(['prod']),
    reason: z.string().min(1).max(500),
  })
  .refine((window) => Date.parse(window.from) < Date.parse(window.to), { message: 'from must be before to', path: ['to'] });

/** The governance configuration an admin sets (`PUT /governance/config`). */
export const governanceConfigSchema = z.object({
  /** Approvals a gate needs, per risk level (like SSM Automation's MinRequiredApprovals). */
  minApprovals: z.object({ high: z.number().int().min(1).max(10), medium: z.number().int().min(1).max(10) }),
  /** Seconds the approvers have before the gate escalates to admins. */
  approvalTimeoutSeconds: z.number().int().min(1).max(7 * 86_400),
  /** Seconds the admins have after an escalation before the gate fails closed. */
  escalationTimeoutSeconds: z.number().int().min(1).max(7 * 86_400),
  freezeWindows: z.array(freezeWindowSchema).max(50),
  /** Admins who must ratify a changed constitution before actuation resumes. */
  constitutionQuorum: z.number().int().min(1).max(10),
});
/** The governance configuration. */
export type GovernanceConfig = z.infer<typeof governanceConfigSchema>;

/** The constitution a tenant's proposals are judged under: a document in S3, its hash, who ratified it. */
export const constitutionStateSchema = z.object({
  version: z.number().int().min(1),
  /** SHA-256 of the document's bytes. */
  hash: z.string().regex(/^[0-9a-f]{64}$/).max(64),
  key: z.string().max(1024),
  author: actorSchema,
  at: z.iso.datetime().max(64),
  /** Admins who ratified it (the author excluded). */
  ratifiedBy: z.array(actorSchema).max(10),
  ratified: z.boolean(),
  /** The hash of the last ratified version (proposals are judged under it until this one is ratified). */
  previousHash: z.string().regex(/^[0-9a-f]{64}$/).max(64).optional(),
});
/** A constitution's state. */
export type ConstitutionState = z.infer<typeof constitutionStateSchema>;

/** A tenant's governance settings as stored. */
export const tenantSettingsSchema = z.object({
  tenant: tenantSchema,
  autonomyLevel: autonomyLevelSchema,
  config: governanceConfigSchema,
  killSwitch: killSwitchSchema.optional(),
  constitution: constitutionStateSchema.optional(),
  /** Version of the tenant's current policy set (0: the base profile alone). */
  policyVersion: z.number().int().min(0),
  /** Optimistic concurrency. */
  version: z.number().int().min(0),
});
/** A tenant's governance settings. */
export type TenantSettings = z.infer<typeof tenantSettingsSchema>;

/** The configuration a tenant starts with (documented in the README). */
export const DEFAULT_CONFIG: GovernanceConfig = {
  minApprovals: { high: 2, medium: 1 },
  approvalTimeoutSeconds: 86_400,
  escalationTimeoutSeconds: 86_400,
  freezeWindows: [],
  constitutionQuorum: 1,
};

/** The settings of a tenant that configured nothing yet. */
export function defaultSettings(tenant: string): TenantSettings {
  return { tenant, autonomyLevel: DEFAULT_AUTONOMY_LEVEL, config: DEFAULT_CONFIG, policyVersion: 0, version: 0 };
}

/** Approvals a gate needs for a risk level (low-risk proposals that people see, at level 1, need one). */
export function requiredApprovals(config: GovernanceConfig, level: RiskLevel): number {
  return level === 'high' ? config.minApprovals.high : level === 'medium' ? config.minApprovals.medium : 1;
}

/**
 * Refuses actuation while a kill switch (the tenant's or the global one) is on, or while a changed
 * constitution waits for its quorum.
 * @throws LockedError (423) naming the switch and its reason.
 */
export function assertActuationAllowed(tenant: TenantSettings, global: KillSwitch | undefined): void {
  if (global?.enabled) throw new LockedError(`The global kill switch is on (${global.by}: ${global.reason || 'no reason given'}); nothing actuates until the system operator turns it off`);
  const own = tenant.killSwitch;
  if (own?.enabled) throw new LockedError(`The kill switch of tenant ${tenant.tenant} is on (${own.by}: ${own.reason || 'no reason given'}); nothing actuates until an admin turns it off`);
  const constitution = tenant.constitution;
  if (constitution && !constitution.ratified) {
    throw new LockedError(
      `Constitution v${constitution.version} of tenant ${tenant.tenant} waits for ratification by ${tenant.config.constitutionQuorum} admin(s) (${constitution.ratifiedBy.length} so far); actuation resumes once it is ratified`,
    );
  }
}

/** Why actuation is locked now for `tenant` (the global or the tenant's kill switch, a constitution waiting: {@link assertActuationAllowed}), or undefined. */
export async function actuationLock(store: Pick<GovernanceStore, 'settings' | 'globalKillSwitch'>, tenant: string): Promise<string | undefined> {
  const [settings, global] = await Promise.all([store.settings(tenant), store.globalKillSwitch()]);
  try {
    assertActuationAllowed(settings, global);
    return undefined;
  } catch (error) {
    if (error instanceof LockedError) return error.message;
    throw error;
  }
}

/** The hash proposals are judged under: the ratified constitution's (empty when there is none). */
export function constitutionHashOf(settings: TenantSettings): string {
  const constitution = settings.constitution;
  if (!constitution) return '';
  return constitution.ratified ? constitution.hash : (constitution.previousHash ?? '');
}

/** What changing settings needs (ports from lib/governance/proposals.ts). */
export interface SettingsDeps {
  store: Pick<GovernanceStore, 'settings' | 'putSettings'>;
  outbox: Pick<OutboxPort, 'deliver' | 'record'>;
  now: Date;
}

/**
 * Changes a tenant's settings: `change` builds the next settings and their events from the
 * current ones; the write is conditional (re-read and retried when someone wrote first), the events
 * are recorded in the ledger and published.
 */
export async function updateSettings(tenant: string, change: (current: TenantSettings) => { next: TenantSettings; events: BusEvent[] }, deps: SettingsDeps): Promise<{ before: TenantSettings; after: TenantSettings }> {
  for (let attempt = 1; ; attempt += 1) {
    const current = await deps.store.settings(tenant);
    const { next, events } = change(current);
    const stored = { ...next, version: current.version + 1 };
    try {
      const entries = await deps.store.putSettings(stored, current.version, events);
      for (const entry of entries) await deps.outbox.record(entry);
      await deps.outbox.deliver(entries);
      return { before: current, after: stored };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= 5) throw error;
    }
  }
}
