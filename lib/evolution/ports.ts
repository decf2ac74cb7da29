/** The Evolution engine's ports: its state (configurations, arm statistics, decisions) and governance's proposal path. */
import type { BusEvent } from '../events/publisher.ts';
import type { OutboxEntry, OutboxPort, ProposalDeps } from '../governance/proposals.ts';
import type { ArmStats, Decision, StoredService } from './schemas.ts';

/** Evolution's state: every write conditional, statistics added to atomically. */
export interface EvolutionStore {
  /** The service's stored configuration, or undefined before its first `PUT /evolution/config`. */
  service(tenant: string, service: string): Promise<StoredService | undefined>;
  /**
   * Saves a configuration and gives each of `arms` (the declared ids) zero statistics where it has none,
   * in one transaction. @throws ConflictError when the stored configuration is not at `expectedVersion` (undefined: absent).
   */
  putService(next: StoredService, expectedVersion: number | undefined): Promise<void>;
  /** The statistics of the service's arms (arms never observed are absent or zero). */
  stats(tenant: string, service: string): Promise<Record<string, ArmStats>>;
  /**
   * Adds increments to the arms' statistics in one atomic update: concurrent posts never lose counts.
   * @throws ConflictError when one of the arms is no longer declared (the configuration changed meanwhile); nothing is added then.
   */
  addStats(tenant: string, service: string, increments: Readonly<Record<string, ArmStats>>): Promise<void>;
  /** The service's latest decision. */
  latestDecision(tenant: string, service: string): Promise<Decision | undefined>;
  /**
   * Saves the service's latest decision with its events (an outbox), conditional on the previous one's seq.
   * @throws ConflictError when another decision was saved since `expectedSeq` (undefined: none).
   */
  putDecision(next: Decision, expectedSeq: number | undefined, events: BusEvent[]): Promise<OutboxEntry[]>;
}

/** What the Evolution engine needs. */
export interface EvolutionDeps {
  store: EvolutionStore;
  /** Governance's outbox: records entries in the ledger and publishes them. */
  outbox: OutboxPort;
  /** Governance's proposal path (the engine supplies each proposal's id). */
  governance: Omit<ProposalDeps, 'now' | 'newId'>;
  now: () => Date;
}
