/**
 * The local EventBridge: buses and rules from the template, `PutEvents` over the AWS JSON protocol
 * (so `@aws-sdk/client-eventbridge` works unchanged), our pattern matcher, delivery to targets
 * (functions, queues, state machines) and schedules.
 */
import { randomUUID } from 'node:crypto';
import { AwsServiceError, type JsonOperation } from '../http/aws-json.ts';
import { compileEventPattern, InvalidEventPatternError } from './pattern.ts';
import { parseSchedule, type Schedule } from './schedule.ts';

/** A rule target as CloudFormation declares it (intrinsics resolved). */
export interface RuleTarget {
  Id: string;
  Arn: string;
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
}

/** A rule: an event pattern or a schedule, and its targets. */
export interface RuleDefinition {
  name: string;
  arn: string;
  busName: string;
  eventPattern?: unknown;
  scheduleExpression?: string;
  enabled: boolean;
  targets: RuleTarget[];
}

/** Delivers one input to one target ARN (lambda function, SQS queue, state machine). */
export type TargetDelivery = (targetArn: string, input: string, context: { ruleName: string; eventId: string }) => Promise<void>;

/** The EventBridge event envelope. */
export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

interface CompiledRule extends RuleDefinition {
  matches?: (event: unknown) => boolean;
  schedule?: Schedule;
  /** The schedule's timer is armed (schedules are armed once started, and when an enabled rule is). */
  armed?: boolean;
}

const MAX_ENTRY_BYTES = 256 * 1024;

/** An entry's size as AWS counts it: Time (14 bytes if set), Source, DetailType, Detail and Resources in UTF-8. */
function entryBytes(raw: Record<string, unknown>): number {
  const text = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value) : 0);
  const resources = Array.isArray(raw.Resources) ? raw.Resources.reduce((sum: number, resource: unknown) => sum + text(resource), 0) : 0;
  return (raw.Time === undefined ? 0 : 14) + text(raw.Source) + text(raw.DetailType) + text(raw.Detail) + resources;
}

function readPath(value: unknown, jsonPath: string): unknown {
  if (jsonPath === '$') return value;
  if (!jsonPath.startsWith('$.')) throw new AwsServiceError('ValidationException', `Unsupported JSON path ${jsonPath}`);
  let current = value;
  for (const key of jsonPath.slice(2).split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Applies a target's input shaping (Input, InputPath, InputTransformer) to an event. */
export function targetInput(target: RuleTarget, event: EventEnvelope): string {
  if (target.Input !== undefined) return target.Input;
  if (target.InputPath !== undefined) return JSON.stringify(readPath(event, target.InputPath) ?? null);
  if (target.InputTransformer) {
    const values = Object.fromEntries(Object.entries(target.InputTransformer.InputPathsMap ?? {}).map(([name, p]) => [name, readPath(event, p)]));
    return target.InputTransformer.InputTemplate.replace(/<([A-Za-z0-9_.-]+)>/g, (whole, name: string) => {
      if (name === 'aws.events.event.json') return JSON.stringify(event);
      if (!(name in values)) return whole;
      const value = values[name];
      return typeof value === 'string' ? value : JSON.stringify(value ?? null);
    });
  }
  return JSON.stringify(event);
}

/** The local event bus service. */
export class EventBridgeService {
  private readonly buses = new Set<string>(['default']);
  private readonly rules: CompiledRule[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly region: string;
  private readonly accountId: string;
  private readonly deliver: TargetDelivery;
  private readonly log: (line: string) => void;
  private readonly inflight = new Set<Promise<void>>();
  private schedulesStarted = false;

  constructor(options: { region: string; accountId: string; deliver: TargetDelivery; log?: (line: string) => void }) {
    this.region = options.region;
    this.accountId = options.accountId;
    this.deliver = options.deliver;
    this.log = options.log ?? (() => {});
  }

  /** Creates a bus. */
  createBus(name: string): string {
    this.buses.add(name);
    return this.busArn(name);
  }

  /** The ARN of a bus. */
  busArn(name: string): string {
    return `arn:aws:events:${this.region}:${this.accountId}:event-bus/${name}`;
  }

  /**
   * Adds a rule; its pattern is validated as AWS validates it.
   * @throws AwsServiceError InvalidEventPatternException or ValidationException.
   */
  putRule(rule: RuleDefinition): void {
    const compiled: CompiledRule = { ...rule };
    try {
      if (rule.eventPattern !== undefined) compiled.matches = compileEventPattern(rule.eventPattern);
      if (rule.scheduleExpression !== undefined) compiled.schedule = parseSchedule(rule.scheduleExpression);
    } catch (error) {
      if (error instanceof InvalidEventPatternError) throw new AwsServiceError('InvalidEventPatternException', error.message);
      throw new AwsServiceError('ValidationException', error instanceof Error ? error.message : String(error));
    }
    const existing = this.rules.findIndex((item) => item.name === rule.name && item.busName === rule.busName);
    if (existing >= 0) this.rules.splice(existing, 1, compiled);
    else this.rules.push(compiled);
  }

  /** Starts the schedule timers. */
  startSchedules(): void {
    this.schedulesStarted = true;
    for (const rule of this.rules) {
      if (rule.schedule && rule.enabled && !rule.armed) this.arm(rule, rule.schedule, new Date());
    }
  }

  private arm(rule: CompiledRule, schedule: Schedule, from: Date): void {
    rule.armed = true;
    const at = schedule.next(from);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      // A rule disabled meanwhile stops firing (EnableRule arms it again).
      if (!rule.enabled || !this.rules.includes(rule)) {
        rule.armed = false;
        return;
      }
      const event: EventEnvelope = {
        version: '0',
        id: randomUUID(),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: this.accountId,
        time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: this.region,
        resources: [rule.arn],
        detail: {},
      };
      this.fanOut([rule], event);
      this.arm(rule, schedule, at);
    }, Math.max(0, at.getTime() - Date.now()));
    timer.unref();
    this.timers.add(timer);
  }

  private fanOut(rules: CompiledRule[], event: EventEnvelope): void {
    for (const rule of rules) {
      for (const target of rule.targets) {
        const delivery = this.deliver(target.Arn, targetInput(target, event), { ruleName: rule.name, eventId: event.id })
          .catch((error: unknown) => this.log(`rule ${rule.name} → ${target.Arn}: delivery failed: ${(error as Error).message}`))
          .finally(() => this.inflight.delete(delivery));
        this.inflight.add(delivery);
      }
    }
  }

  /** Rules of `busName` whose pattern matches `event`. */
  matchingRules(busName: string, event: EventEnvelope): CompiledRule[] {
    return this.rules.filter((rule) => rule.enabled && rule.busName === busName && rule.matches?.(event));
  }

  /** Publishes one validated event to a bus: every matching rule's targets receive it. */
  publish(busName: string, event: EventEnvelope): void {
    this.fanOut(this.matchingRules(busName, event), event);
  }

  private busName(nameOrArn: unknown): string {
    if (nameOrArn === undefined || nameOrArn === null || nameOrArn === '') return 'default';
    const text = String(nameOrArn);
    return text.startsWith('arn:') ? (text.split(':event-bus/')[1] ?? text) : text;
  }

  /** The rule `name` on a bus, as the rule APIs name it. @throws AwsServiceError ResourceNotFoundException */
  private rule(name: unknown, busNameOrArn: unknown): CompiledRule {
    const bus = this.busName(busNameOrArn);
    const rule = this.rules.find((item) => item.name === name && item.busName === bus);
    if (!rule) throw new AwsServiceError('ResourceNotFoundException', `Rule ${String(name)} does not exist on EventBus ${bus}.`);
    return rule;
  }

  /** Enables or disables a rule: a disabled rule matches nothing and its schedule does not fire. */
  setRuleState(name: string, busName: string, enabled: boolean): void {
    const rule = this.rule(name, busName);
    rule.enabled = enabled;
    if (enabled && rule.schedule && this.schedulesStarted && !rule.armed) this.arm(rule, rule.schedule, new Date());
  }

  /** The AWS JSON-protocol operations (`AWSEvents.*`). */
  operations(): Record<string, JsonOperation> {
    return {
      DescribeRule: (input) => {
        const rule = this.rule(input.Name, input.EventBusName);
        return {
          Name: rule.name,
          Arn: rule.arn,
          EventPattern: rule.eventPattern === undefined ? undefined : JSON.stringify(rule.eventPattern),
          ScheduleExpression: rule.scheduleExpression,
          State: rule.enabled ? 'ENABLED' : 'DISABLED',
          EventBusName: rule.busName,
          CreatedBy: this.accountId,
        };
      },
      DisableRule: (input) => {
        this.setRuleState(String(input.Name ?? ''), this.busName(input.EventBusName), false);
        return {};
      },
      EnableRule: (input) => {
        this.setRuleState(String(input.Name ?? ''), this.busName(input.EventBusName), true);
        return {};
      },
      PutEvents: (input) => this.putEvents(input),
      DescribeEventBus: (input) => {
        const name = this.busName(input.Name);
        if (!this.buses.has(name)) throw new AwsServiceError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
        return { Name: name, Arn: this.busArn(name) };
      },
      ListEventBuses: () => ({ EventBuses: [...this.buses].map((name) => ({ Name: name, Arn: this.busArn(name) })) }),
      ListRules: (input) => {
        const bus = this.busName(input.EventBusName);
        return {
          Rules: this.rules.filter((rule) => rule.busName === bus && (!input.NamePrefix || rule.name.startsWith(String(input.NamePrefix)))).map((rule) => ({
            Name: rule.name,
            Arn: rule.arn,
            EventBusName: rule.busName,
            State: rule.enabled ? 'ENABLED' : 'DISABLED',
            EventPattern: rule.eventPattern === undefined ? undefined : JSON.stringify(rule.eventPattern),
            ScheduleExpression: rule.scheduleExpression,
          })),
        };
      },
      ListTargetsByRule: (input) => {
        const bus = this.busName(input.EventBusName);
        const rule = this.rules.find((item) => item.name === input.Rule && item.busName === bus);
        if (!rule) throw new AwsServiceError('ResourceNotFoundException', `Rule ${String(input.Rule)} does not exist on EventBus ${bus}.`);
        return { Targets: rule.targets };
      },
      TestEventPattern: (input) => {
        let event: unknown;
        try {
          event = JSON.parse(String(input.Event));
        } catch {
          throw new AwsServiceError('InvalidEventPatternException', 'Event is not valid JSON');
        }
        try {
          return { Result: compileEventPattern(String(input.EventPattern))(event) };
        } catch (error) {
          if (error instanceof InvalidEventPatternError) throw new AwsServiceError('InvalidEventPatternException', error.message);
          throw error;
        }
      },
    };
  }

  private putEvents(input: Record<string, unknown>): unknown {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > 10) {
      throw new AwsServiceError('ValidationException', '1 validation error detected: Value at \'entries\' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1');
    }
    let failed = 0;
    const results = entries.map((raw: Record<string, unknown>) => {
      const fail = (code: string, message: string) => {
        failed += 1;
        return { ErrorCode: code, ErrorMessage: message };
      };
      if (entryBytes(raw) > MAX_ENTRY_BYTES) return fail('ValidationException', 'Total size of the entries in the request is over the limit.');
      if (typeof raw.Source !== 'string' || raw.Source === '') return fail('InvalidArgument', 'Parameter Source is not valid. Reason: Source is a required argument.');
      if (typeof raw.DetailType !== 'string' || raw.DetailType === '') return fail('InvalidArgument', 'Parameter DetailType is not valid. Reason: DetailType is a required argument.');
      if (typeof raw.Detail !== 'string') return fail('InvalidArgument', 'Parameter Detail is not valid. Reason: Detail is a required argument.');
      let detail: unknown;
      try {
        detail = JSON.parse(raw.Detail);
      } catch {
        return fail('MalformedDetail', 'Detail is malformed.');
      }
      if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) return fail('MalformedDetail', 'Detail is malformed.');
      const bus = this.busName(raw.EventBusName);
      if (!this.buses.has(bus)) return fail('NotAuthorizedForSourceException', `Event bus ${bus} does not exist.`);
      const id = randomUUID();
      const time = raw.Time === undefined ? new Date() : new Date(Number(raw.Time) * 1000);
      this.publish(bus, {
        version: '0',
        id,
        'detail-type': raw.DetailType,
        source: raw.Source,
        account: this.accountId,
        time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: this.region,
        resources: Array.isArray(raw.Resources) ? raw.Resources.map(String) : [],
        detail,
      });
      return { EventId: id };
    });
    return { FailedEntryCount: failed, Entries: results };
  }

  /** Stops schedules and waits for deliveries in flight. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.inflight]);
  }
}
