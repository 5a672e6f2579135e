import * as cdk from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

import { substitute } from '../asl';
import { PR_STATUS, STEPS } from '../catalog';
import { PreviewNames } from './names';
import { IGNORED_DIALS_METRIC } from './steps';

/** The execution statuses whose changes the PR-status function hears: the start and every close. */
export const PR_STATUS_EXECUTION_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;

/** What the workflow needs from the stack. */
export interface WorkflowProps {
  /** The stack's shared names and ARNs. */
  readonly names: PreviewNames;
  /** The step functions by binary name (reaper included). */
  readonly functions: Record<string, lambda.Function>;
  /**
   * The PR-status function: AnnounceReady queues it, and every status change of an execution
   * wakes it. Absent (no web app), AnnounceReady becomes a Pass state.
   */
  readonly prStatus?: lambda.Function;
  /** The ASL file. */
  readonly aslPath: string;
  /** Retention of the state machine's log group. */
  readonly logRetention: logs.RetentionDays;
  /** Minutes between reaper runs. Default 5. */
  readonly reaperIntervalMinutes?: number;
  /** Where alarm notifications go, if anywhere. */
  readonly alarmEmail?: string;
}

/**
 * The state machine and its log group, the reaper's schedule and event rules (with their dead
 * letters), and the alarms. Adds its resources to the stack itself (see `Network` for why).
 */
export class Workflow {
  /** The preview state machine. */
  readonly stateMachine: sfn.StateMachine;

  constructor(stack: cdk.Stack, props: WorkflowProps) {
    const { names, functions: fn } = props;
    const d = names.deployment;

    // ---- the state machine ----
    const substitutions: Record<string, string> = {};
    for (const spec of STEPS) {
      if (spec.placeholder) substitutions[spec.placeholder] = fn[spec.bin].functionArn;
    }
    if (props.prStatus) substitutions[PR_STATUS.placeholder!] = props.prStatus.functionArn;
    const stateMachineLogs = new logs.LogGroup(stack, 'StateMachineLogs', {
      logGroupName: `/aws/vendedlogs/states/${names.stateMachineName}`,
      retention: props.logRetention,
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    });
    const sm = (this.stateMachine = new sfn.StateMachine(stack, 'StateMachine', {
      stateMachineName: names.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(
        substitute(props.aslPath, substitutions, props.prStatus ? [] : [PR_STATUS.placeholder!]),
      ),
      // Errors only, without execution data: inputs carry task tokens. The history is the audit log.
      logs: { destination: stateMachineLogs, level: sfn.LogLevel.ERROR, includeExecutionData: false },
    }));
    for (const spec of STEPS) {
      if (spec.placeholder) fn[spec.bin].grantInvoke(sm);
    }
    if (props.prStatus) {
      // AnnounceReady (lambda:invoke, InvocationType Event) queues it when a preview is ready or extended.
      props.prStatus.grantInvoke(sm);
      // Every status change of our executions (RUNNING: building; the closes: ended or failed).
      // The function reads the execution itself, so a late or repeated event repeats the truth;
      // one still undelivered after an hour is dropped: a PR status is a courtesy, not the preview's state.
      new events.Rule(stack, 'PrStatusOnExecutionStatus', {
        description: `dspace-preview ${d}: tell the preview's pull requests when its execution starts or ends`,
        eventPattern: {
          source: ['aws.states'],
          detailType: ['Step Functions Execution Status Change'],
          detail: { stateMachineArn: [names.stateMachineArn], status: [...PR_STATUS_EXECUTION_STATUSES] },
        },
        targets: [new targets.LambdaFunction(props.prStatus, { retryAttempts: 4, maxEventAge: cdk.Duration.hours(1) })],
      });
    }
    // ---- the reaper: on a schedule, and at once when an execution or an instance ends ----
    const reaperMinutes = props.reaperIntervalMinutes ?? 5;
    new events.Rule(stack, 'ReaperSchedule', {
      description: `dspace-preview ${d}: end previews whose execution is gone or whose lifetime is over`,
      schedule: events.Schedule.rate(cdk.Duration.minutes(reaperMinutes)),
      // The next run comes soon enough.
      targets: [new targets.LambdaFunction(fn['reaper'], { retryAttempts: 0 })],
    });
    // An event the reaper could not be given within the hour of retries lands here; the schedule
    // still finds what it was about, only later.
    const reaperDeadLetters = new sqs.Queue(stack, 'ReaperDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: cdk.Duration.days(14),
    });
    const reaperOnEvent = new targets.LambdaFunction(fn['reaper'], {
      retryAttempts: 10,
      maxEventAge: cdk.Duration.hours(1),
      deadLetterQueue: reaperDeadLetters,
    });
    // EventBridge cannot match EC2 events by tag: every instance of the account triggers the
    // reaper, which acts only on instances tagged with this deployment.
    const reaperEvents: Record<string, { description: string; eventPattern: events.EventPattern }> = {
      ReaperOnExecutionEnd: {
        description: `dspace-preview ${d}: clean up at once after an execution failed, timed out or was stopped`,
        eventPattern: {
          source: ['aws.states'],
          detailType: ['Step Functions Execution Status Change'],
          detail: { stateMachineArn: [names.stateMachineArn], status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
        },
      },
      ReaperOnInstanceEnd: {
        description: `dspace-preview ${d}: end the preview of an instance that stops or terminates`,
        eventPattern: {
          source: ['aws.ec2'],
          detailType: ['EC2 Instance State-change Notification'],
          detail: { state: ['shutting-down', 'terminated', 'stopping', 'stopped'] },
        },
      },
      ReaperOnSpotInterruption: {
        description: `dspace-preview ${d}: end the preview of a spot instance about to be reclaimed`,
        eventPattern: { source: ['aws.ec2'], detailType: ['EC2 Spot Instance Interruption Warning'] },
      },
    };
    for (const [id, rule] of Object.entries(reaperEvents)) {
      new events.Rule(stack, id, { ...rule, targets: [reaperOnEvent] });
    }

    // ---- alarms ----
    const topic = props.alarmEmail ? new sns.Topic(stack, 'Alarms', { displayName: `dspace-preview ${d}` }) : undefined;
    if (topic && props.alarmEmail) topic.addSubscription(new subs.EmailSubscription(props.alarmEmail));
    const failed = new cloudwatch.Alarm(stack, 'FailedExecutions', {
      alarmDescription: `dspace-preview ${d}: a preview execution failed or timed out (see its history in the Step Functions console)`,
      metric: new cloudwatch.MathExpression({
        expression: 'failed + timedOut',
        usingMetrics: { failed: sm.metricFailed(), timedOut: sm.metricTimedOut() },
        period: cdk.Duration.minutes(5),
        label: 'failed or timed-out executions',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const reaperErrors = new cloudwatch.Alarm(stack, 'ReaperErrors', {
      alarmDescription: `dspace-preview ${d}: the reaper failed (strays may keep running)`,
      metric: fn['reaper'].metricErrors({ period: cdk.Duration.hours(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const ignoredDialsAlarm = new cloudwatch.Alarm(stack, 'IgnoredRuntimeDialsAlarm', {
      alarmDescription:
        `dspace-preview ${d}: a run-time dial under ${names.root}/config/ is malformed or unknown and ignored ` +
        `(the deployment's value applies; the web app's home page names it). Fix or delete the parameter.`,
      metric: new cloudwatch.Metric({
        namespace: IGNORED_DIALS_METRIC.metricNamespace,
        metricName: IGNORED_DIALS_METRIC.metricName,
        statistic: cloudwatch.Stats.SUM,
        period: cdk.Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (topic) {
      for (const alarm of [failed, reaperErrors, ignoredDialsAlarm]) alarm.addAlarmAction(new cwActions.SnsAction(topic));
    }
  }
}
