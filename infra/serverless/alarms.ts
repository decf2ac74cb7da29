/**
 * Alerting, derived from the compiled template so nothing can be deployed without it: an SNS topic per
 * stage, and CloudWatch alarms for every function (errors, throttles), every dead-letter queue (a
 * message in it), the approval backlog, audit checkpoint failures (a broken chain), and the API's error
 * budget burn; plus one dashboard. Pure: takes the template, returns the resources to add.
 */
import type { Resource, Template } from './stacks.ts';

/** The stage's alerting topic (its subscriptions are the operator's: e-mail, chat, paging). */
export const ALERTS_TOPIC = 'AlertsTopic';
/** The stage's dashboard. */
export const DASHBOARD = 'OperationsDashboard';

/** Options of {@link alarmResources}. */
export interface AlarmOptions {
  /** `autonomy-<stage>`: prefixes alarm and dashboard names. */
  prefix: string;
  /** Powertools metrics namespace and service dimension of the functions' own metrics. */
  namespace: string;
  service: string;
  /** Approvals requested but not decided over 6 hours that raise the backlog alarm. */
  approvalBacklog: number;
  /** The API's availability objective, e.g. 0.999. */
  availabilityObjective: number;
}

const ref = (id: string) => ({ Ref: id });
const actions = { AlarmActions: [ref(ALERTS_TOPIC)], OKActions: [ref(ALERTS_TOPIC)] };

function alarm(name: string, description: string, properties: Record<string, unknown>): Resource {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: { AlarmName: name, AlarmDescription: description, TreatMissingData: 'notBreaching', ...actions, ...properties },
  };
}

/** Logical ids of the template's dead-letter queues: queues another queue's RedrivePolicy points at. */
export function deadLetterQueues(template: Template): string[] {
  const targets = new Set<string>();
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::SQS::Queue') continue;
    const target = (resource.Properties?.RedrivePolicy as { deadLetterTargetArn?: { 'Fn::GetAtt'?: [string, string] } } | undefined)?.deadLetterTargetArn?.['Fn::GetAtt']?.[0];
    if (target) targets.add(target);
  }
  return [...targets].sort();
}

/**
 * The alerting resources for `template`: the topic, one errors and one throttles alarm per function
 * (these move into the function's nested stack with it), one alarm per dead-letter queue, the
 * approval backlog, checkpoint failures, the API's fast error-budget burn, and the dashboard.
 */
export function alarmResources(template: Template, options: AlarmOptions): Record<string, Resource> {
  const out: Record<string, Resource> = {
    [ALERTS_TOPIC]: { Type: 'AWS::SNS::Topic', Properties: { TopicName: `${options.prefix}-alerts`, KmsMasterKeyId: 'alias/aws/sns' } },
  };
  const functions = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::Lambda::Function').map(([id]) => id);
  for (const id of functions) {
    const base = id.replace(/LambdaFunction$/, '');
    const dimensions = [{ Name: 'FunctionName', Value: ref(id) }];
    out[`${base}ErrorsAlarm`] = alarm(`${options.prefix}-${base}-errors`, `${base}: invocations failed (errors or timeouts) in 5 minutes`, {
      Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: dimensions, Statistic: 'Sum', Period: 300, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    out[`${base}ThrottlesAlarm`] = alarm(`${options.prefix}-${base}-throttles`, `${base}: invocations throttled (concurrency limit) in 5 minutes`, {
      Namespace: 'AWS/Lambda', MetricName: 'Throttles', Dimensions: dimensions, Statistic: 'Sum', Period: 300, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  }
  const dlqs = deadLetterQueues(template);
  for (const id of dlqs) {
    out[`${id}DepthAlarm`] = alarm(`${options.prefix}-${id}-depth`, `${id}: messages that failed every delivery are waiting (npm run redrive after the fix)`, {
      Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }],
      Statistic: 'Maximum', Period: 60, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  }
  const own = (name: string) => ({ Namespace: options.namespace, MetricName: name, Dimensions: [{ Name: 'service', Value: options.service }] });
  out.ApprovalBacklogAlarm = alarm(`${options.prefix}-approval-backlog`, `More than ${options.approvalBacklog} approvals requested and not decided over 6 hours`, {
    Metrics: [
      { Id: 'requested', MetricStat: { Metric: own('ApprovalsRequested'), Period: 21600, Stat: 'Sum' }, ReturnData: false },
      { Id: 'decided', MetricStat: { Metric: own('ApprovalsDecided'), Period: 21600, Stat: 'Sum' }, ReturnData: false },
      { Id: 'backlog', Expression: 'FILL(requested, 0) - FILL(decided, 0)', Label: 'approvals waiting', ReturnData: true },
    ],
    EvaluationPeriods: 1, Threshold: options.approvalBacklog, ComparisonOperator: 'GreaterThanThreshold',
  });
  out.AuditCheckpointFailuresAlarm = alarm(`${options.prefix}-audit-checkpoint-failures`, 'A stream could not be checkpointed (a broken chain is refused, never signed): run GET /audit/verify on it', {
    ...own('AuditCheckpointFailures'), Statistic: 'Sum', Period: 300, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
  if ('HttpApi' in template.Resources) {
    // The fast-burn alert of the SRE workbook: 2 % of a 30-day error budget spent in one hour is a burn rate of 14.4.
    const burn = 14.4 * (1 - options.availabilityObjective);
    const api = (name: string) => ({ Namespace: 'AWS/ApiGateway', MetricName: name, Dimensions: [{ Name: 'ApiId', Value: ref('HttpApi') }] });
    out.ApiErrorBudgetBurnAlarm = alarm(`${options.prefix}-api-error-budget-burn`, `5xx replies above ${(burn * 100).toFixed(2)} % over an hour: the error budget of a ${options.availabilityObjective * 100} % objective burns 14.4× too fast`, {
      Metrics: [
        { Id: 'errors', MetricStat: { Metric: api('5xx'), Period: 3600, Stat: 'Sum' }, ReturnData: false },
        { Id: 'requests', MetricStat: { Metric: api('Count'), Period: 3600, Stat: 'Sum' }, ReturnData: false },
        { Id: 'ratio', Expression: 'IF(requests > 0, errors / requests, 0)', Label: '5xx ratio', ReturnData: true },
      ],
      EvaluationPeriods: 1, Threshold: burn, ComparisonOperator: 'GreaterThanThreshold',
    });
  }
  out[DASHBOARD] = { Type: 'AWS::CloudWatch::Dashboard', Properties: { DashboardName: `${options.prefix}-operations`, DashboardBody: dashboardBody(functions, dlqs, options) } };
  return out;
}

/** The dashboard: function errors and durations, dead-letter depths, API replies, approvals and checkpoints. */
function dashboardBody(functions: string[], dlqs: string[], options: AlarmOptions): unknown {
  const variables: Record<string, unknown> = {};
  const name = (id: string) => {
    variables[id] = ref(id);
    return `\${${id}}`;
  };
  const queueName = (id: string) => {
    variables[`${id}Name`] = { 'Fn::GetAtt': [id, 'QueueName'] };
    return `\${${id}Name}`;
  };
  const widget = (title: string, metrics: unknown[], y: number, x = 0, width = 12) => ({ type: 'metric', x, y, width, height: 6, properties: { title, region: '${AWS::Region}', stat: 'Sum', period: 300, metrics } });
  const body = {
    widgets: [
      widget('Function errors', functions.map((id) => ['AWS/Lambda', 'Errors', 'FunctionName', name(id)]), 0),
      widget('Function duration p95 (ms)', functions.map((id) => ['AWS/Lambda', 'Duration', 'FunctionName', name(id), { stat: 'p95' }]), 0, 12),
      widget('Dead-letter queues (messages waiting)', dlqs.map((id) => ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', queueName(id), { stat: 'Maximum' }]), 6),
      widget('API replies', [['AWS/ApiGateway', 'Count', 'ApiId', name('HttpApi')], ['.', '4xx', '.', '.'], ['.', '5xx', '.', '.']], 6, 12),
      widget('Approvals and checkpoints', ['ApprovalsRequested', 'ApprovalsDecided', 'AuditCheckpointTargets', 'AuditCheckpointFailures'].map((metric) => [options.namespace, metric, 'service', options.service]), 12, 0, 24),
    ],
  };
  return { 'Fn::Sub': [JSON.stringify(body), variables] };
}
