/**
 * The Promotion engine's ports: its own records, the metric samples the judge reads, the Versioning
 * engine's verdict on a version, and the state machine that drives a promotion. Governance
 * (proposals, the gate, the kill switches), the Execution engine's executors and the outbox (ledger
 * and bus) are used through their own ports (lib/governance/proposals.ts, lib/execution/executor.ts).
 */
import type { BusEvent } from '../events/publisher.ts';
import type { StageScope } from '../execution/bindings.ts';
import type { ExecutorRegistry } from '../execution/executor.ts';
import type { OutboxEntry, OutboxPort, ProposalDeps } from '../governance/proposals.ts';
import type { MetricSamples } from './judge.ts';
import type { Promotion, Stage } from './schemas.ts';

/** Promotions, each write conditional on the version read and carrying its events (an outbox). */
export interface PromotionStore {
  get(tenant: string, promotionId: string): Promise<Promotion | undefined>;
  /** @throws ConflictError when the stored promotion is not at `expectedVersion` (`undefined`: absent). */
  put(next: Promotion, expectedVersion: number | undefined, events: BusEvent[]): Promise<OutboxEntry[]>;
  /** The tenant's promotions, newest first. */
  list(tenant: string, limit: number): Promise<Promotion[]>;
}

/** Samples posted to a promotion (`POST /promotion/metrics`), per step and metric. */
export interface PostedSamples {
  /** Appends samples (the newest {@link MAX_SAMPLES_PER_SIDE} per side are kept). */
  add(tenant: string, promotionId: string, step: number, metrics: Readonly<Record<string, MetricSamples>>): Promise<void>;
  read(tenant: string, promotionId: string, step: number): Promise<Record<string, MetricSamples>>;
}

/** Points of the Observation engine's series inside a time window (epoch ms, inclusive). */
export interface SeriesSamples {
  values(tenant: string, series: string, fromMs: number, toMs: number): Promise<number[]>;
}

/** The Versioning engine's view of a version about to be promoted. */
export interface VersionVerdict {
  /** False while its regression gate has not passed or, being breaking, it has no approval. */
  promotable: boolean;
  /** True when the version breaks consumers of the version it replaces (a major bump). */
  breaking: boolean;
  /** One sentence for people (why it may or may not be promoted). */
  detail: string;
}

/**
 * The Versioning engine's gate on promotion (issue 13): a version whose regression gate has not
 * passed, or a breaking version without its governance approval, cannot be promoted. Implemented
 * on lib/versioning's `promotable()` (lib/adapters/aws/promotion-deps.ts); a promotion that names
 * no artifact is not checked (it records no version verdict).
 */
export interface VersionGate {
  /** @returns undefined when the artifact or version is unknown to Versioning. */
  check(tenant: string, artifact: { name: string; version: string }, stage: Stage): Promise<VersionVerdict | undefined>;
}

/** Starts a promotion's state machine execution (the same name starts it once). */
export interface PromotionStarter {
  /** @returns the execution's ARN (also when it had started before). */
  start(name: string, input: { tenant: string; promotionId: string }): Promise<string>;
}

/** What the engine needs. */
export interface PromotionDeps {
  promotions: PromotionStore;
  posted: PostedSamples;
  series: SeriesSamples;
  /** Governance's proposal path (propose, the gate, the store with the kill switches). */
  governance: ProposalDeps;
  outbox: OutboxPort;
  executors: ExecutorRegistry;
  stage: StageScope;
  starter: PromotionStarter;
  versions?: VersionGate;
  now: () => Date;
  newId: () => string;
  /** Seconds between the first looks at a pending approval (default 1; the gap grows with the wait). */
  approvalPollSeconds?: number;
}
