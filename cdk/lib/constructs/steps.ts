import * as cdk from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';

import { lambdaCode } from '../artifacts';
import {
  IGNORED_DIAL_LOG,
  METRIC_NAMESPACE,
  MUTABLE_TAGS,
  RUNTIME_PARAMETER_KEYS,
  STACK_TAG,
  STEPS,
  StepSpec,
  envName,
} from '../catalog';
import { InstanceAccess, StatementSpec } from './instance-access';
import { PreviewNames } from './names';
import { Network } from './network';
import { PreviewDomain, previewDomainEnv, previewDomainGrants } from './preview-dns';

/**
 * The metric counting ignored run-time dials in every function's log. One metric for all
 * functions: a metric filter's dimension values can only come from the log line.
 */
export const IGNORED_DIALS_METRIC = { metricNamespace: METRIC_NAMESPACE, metricName: 'IgnoredRuntimeDials' };

/** Every resolved dial: the props with defaults filled in. */
export interface Dials {
  maxLive: number;
  instanceType: string;
  defaultTtlMinutes: number;
  minTtlMinutes: number;
  maxLifetimeMinutes: number;
  healthDeadlineMinutes: number;
  useSpot: boolean;
  volumeGib: number;
  adminEmail: string;
  buildCacheDays: number;
}

/** What the step functions need from the stack. */
export interface StepsProps {
  /** The stack's shared names and ARNs. */
  readonly names: PreviewNames;
  /** The resolved dials. */
  readonly dials: Dials;
  /** The previews' network. */
  readonly network: Network;
  /** The instances' role, profile, AMI and build cache. */
  readonly instances: InstanceAccess;
  /** Folder with the Lambda artifacts. */
  readonly lambdaDir: string;
  /** Architecture the Lambda zips were built for. */
  readonly architecture: lambda.Architecture;
  /** Retention of the functions' log groups. */
  readonly logRetention: logs.RetentionDays;
  /** The previews' Route 53 zone and suffix (HTTPS previews); none: plain HTTP on EC2 names. */
  readonly previewDomain?: PreviewDomain;
}

/** One grant of the steps' least privilege: a statement and the steps whose roles get it. */
interface StepGrant extends StatementSpec {
  /** The binaries (`StepSpec.bin`) whose roles get the statement. */
  readonly steps: readonly string[];
}

/**
 * The step Lambdas (reaper included), the dials they read (environment and SSM run-time
 * overrides) and their least-privilege grants. Adds its resources to the stack itself (see
 * `Network` for why).
 */
export class Steps {
  /** The step functions by binary name (reaper included). */
  readonly functions: Record<string, lambda.Function> = {};
  /** The environment variables for the functions that look for a cached build (launch, web). */
  readonly buildCacheEnv: Record<string, string>;

  private readonly environment: Record<string, string>;

  constructor(
    private readonly stack: cdk.Stack,
    private readonly props: StepsProps,
  ) {
    const { names, dials, network, instances } = props;
    const root = names.root;

    // ---- the dials: environment (deployment structure) and SSM (run-time overrides) ----
    this.environment = {
      [envName('stack')]: names.deployment,
      [envName('max-live')]: String(dials.maxLive),
      [envName('instance-type')]: dials.instanceType,
      [envName('ami-parameter')]: instances.amiParameter,
      [envName('subnet-id')]: network.subnetId,
      [envName('security-group-ids')]: network.securityGroup.securityGroupId,
      [envName('instance-profile')]: instances.instanceProfile.instanceProfileName,
      [envName('use-spot')]: String(dials.useSpot),
      [envName('default-ttl-minutes')]: String(dials.defaultTtlMinutes),
      [envName('min-ttl-minutes')]: String(dials.minTtlMinutes),
      [envName('max-lifetime-minutes')]: String(dials.maxLifetimeMinutes),
      [envName('health-deadline-minutes')]: String(dials.healthDeadlineMinutes),
      [envName('volume-gib')]: String(dials.volumeGib),
      [envName('admin-email')]: dials.adminEmail,
      [envName('state-machine-arn')]: names.stateMachineArn,
      RUST_LOG: 'info',
    };
    this.buildCacheEnv = { [envName('build-cache-repository')]: instances.buildCache.repositoryUri };
    const runtimeValues: Record<(typeof RUNTIME_PARAMETER_KEYS)[number], string> = {
      'max-live': String(dials.maxLive),
      'instance-type': dials.instanceType,
      'default-ttl-minutes': String(dials.defaultTtlMinutes),
      'max-lifetime-minutes': String(dials.maxLifetimeMinutes),
      'health-deadline-minutes': String(dials.healthDeadlineMinutes),
      'use-spot': String(dials.useSpot),
    };
    for (const key of RUNTIME_PARAMETER_KEYS) {
      new ssm.StringParameter(stack, `Dial-${key}`, {
        parameterName: `${root}/config/${key}`,
        stringValue: runtimeValues[key],
        description: `dspace-preview dial ${key}: change it at run time with aws ssm put-parameter --overwrite`,
      });
    }

    // ---- the functions ----
    // Only the steps that read the domain dials get them (none without a domain).
    const domainEnv = previewDomainEnv(props.previewDomain);
    for (const spec of STEPS) {
      const extraEnv = { ...(spec.bin === 'launch' ? this.buildCacheEnv : {}), ...domainEnv[spec.bin] };
      this.functions[spec.bin] = this.makeFunction(spec, `${names.prefix}-${spec.bin}`, `dspace-preview ${names.deployment}: ${spec.bin} step`, extraEnv);
    }

    // ---- least privilege, statement by statement ----
    for (const { steps, ...statement } of [...stepGrants(stack, names, network, instances), ...previewDomainGrants(stack, props.previewDomain)]) {
      const policy = new iam.PolicyStatement(statement);
      for (const bin of steps) this.functions[bin].addToRolePolicy(policy);
    }
  }

  /**
   * A function of this stack: its own log group (counting ignored dials), its own role (writing
   * to that group only) and the dials' environment plus `extraEnv`. Used for the web app too.
   */
  makeFunction(spec: StepSpec, functionName: string, description: string, extraEnv: Record<string, string> = {}): lambda.Function {
    const stack = this.stack;
    const logGroup = new logs.LogGroup(stack, `${spec.id}Logs`, {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: this.props.logRetention,
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    });
    // A quoted term matches the JSON lines on Lambda and the text lines elsewhere alike.
    logGroup.addMetricFilter('IgnoredRuntimeDials', {
      ...IGNORED_DIALS_METRIC,
      filterPattern: logs.FilterPattern.literal(`"${IGNORED_DIAL_LOG}"`),
      metricValue: '1',
    });
    // Our own role, not the default one: no AWSLambdaBasicExecutionRole (logs on every group).
    const role = new iam.Role(stack, `${spec.id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `dspace-preview ${this.props.names.deployment}: the ${spec.bin} function`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'OwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    return new lambda.Function(stack, spec.id, {
      functionName,
      description,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      architecture: this.props.architecture,
      code: lambdaCode(this.props.lambdaDir, spec.bin),
      memorySize: 256,
      timeout: cdk.Duration.seconds(spec.timeoutSeconds),
      reservedConcurrentExecutions: spec.reservedConcurrency,
      role,
      logGroup,
      environment: { ...this.environment, ...extraEnv },
    });
  }
}

/** The steps' grants, in the order they are added to each role. */
function stepGrants(stack: cdk.Stack, names: PreviewNames, network: Network, instances: InstanceAccess): StepGrant[] {
  const { root, deployment: d } = names;
  const param = (p: string) => names.param(p);
  const ec2Arn = (resource: string, resourceName: string, account?: string) => names.ec2Arn(resource, resourceName, account);
  const ourInstances = ec2Arn('instance', '*');
  return [
    {
      steps: ['check-capacity', 'launch', 'check-health', 'record-url', 'extend', 'reaper'],
      sid: 'ReadRuntimeDials',
      actions: ['ssm:GetParametersByPath'],
      resources: names.pathArns(`${root}/config`),
    },
    // Describe* actions cannot be limited to resources in IAM; they only read.
    {
      steps: ['check-capacity', 'launch', 'check-health', 'record-url', 'terminate', 'reaper'],
      sid: 'FindInstances',
      actions: ['ec2:DescribeInstances'],
      resources: ['*'],
    },
    {
      steps: ['check-health', 'record-url', 'await-expiry', 'extend', 'terminate', 'reaper'],
      sid: 'TagOurInstances',
      actions: ['ec2:CreateTags'],
      resources: [ourInstances],
      conditions: {
        StringEquals: { [`ec2:ResourceTag/${STACK_TAG}`]: d },
        'ForAllValues:StringEquals': { 'aws:TagKeys': MUTABLE_TAGS },
      },
    },
    { steps: ['check-capacity', 'terminate', 'reaper'], sid: 'ReadSlots', actions: ['ssm:GetParametersByPath'], resources: names.pathArns(`${root}/slots`) },
    { steps: ['check-capacity'], sid: 'TakeSlots', actions: ['ssm:PutParameter'], resources: [param(`${root}/slots/*`)] },
    {
      steps: ['terminate', 'reaper'],
      sid: 'EndPreviews',
      actions: ['ssm:GetParametersByPath', 'ssm:DeleteParameters'],
      resources: [param(`${root}/previews/*`), param(`${root}/slots/*`)],
    },
    {
      steps: ['terminate', 'reaper'],
      sid: 'TerminateOurInstancesOnly',
      actions: ['ec2:TerminateInstances'],
      resources: [ourInstances],
      conditions: { StringEquals: { [`ec2:ResourceTag/${STACK_TAG}`]: d } },
    },
    { steps: ['await-expiry'], sid: 'StoreTaskToken', actions: ['ssm:PutParameter'], resources: [names.taskTokens] },
    // Stop in every phase: see `PreviewNames.stopRequests`.
    { steps: ['check-health', 'await-expiry'], sid: 'ReadStopRequests', actions: ['ssm:GetParameter'], resources: [names.stopRequests] },
    // A stop request found while parking the token completes the wait as a stop at once.
    // "*": task-token actions take no resource ARN; the token (only readable from SSM by the roles that need it) is the capability.
    { steps: ['await-expiry'], sid: 'CompleteOwnWaitWithStop', actions: ['states:SendTaskSuccess'], resources: ['*'] },
    { steps: ['reaper'], sid: 'CheckOwnerExecutions', actions: ['states:DescribeExecution'], resources: [names.executionsArn] },
    // When a preview's instance dies while its execution waits, the reaper ends the wait as
    // InstanceGone with the stored token.
    { steps: ['reaper'], sid: 'ReadTaskTokens', actions: ['ssm:GetParameter'], resources: [names.taskTokens] },
    // "*": task-token actions take no resource ARN; the token (only readable from SSM by the roles that need it) is the capability.
    { steps: ['reaper'], sid: 'FailWaitsOfGoneInstances', actions: ['states:SendTaskFailure'], resources: ['*'] },

    // check-health: Run Command on our instances only, with the one document it uses.
    {
      steps: ['check-health'],
      sid: 'HealthCommandDocument',
      actions: ['ssm:SendCommand'],
      resources: [stack.formatArn({ service: 'ssm', account: '', resource: 'document', resourceName: 'AWS-RunShellScript' })],
    },
    {
      steps: ['check-health'],
      sid: 'HealthCommandOnOurInstancesOnly',
      actions: ['ssm:SendCommand'],
      resources: [ourInstances],
      conditions: { StringEquals: { [`ssm:resourceTag/${STACK_TAG}`]: d } },
    },
    // GetCommandInvocation supports no resource-level permissions; it only reads results.
    { steps: ['check-health'], sid: 'HealthCommandResult', actions: ['ssm:GetCommandInvocation'], resources: ['*'] },

    // launch: RunInstances authorizes every resource the call touches; each is scoped here.
    { steps: ['launch'], sid: 'InspectImage', actions: ['ec2:DescribeImages'], resources: ['*'] },
    { steps: ['launch'], sid: 'ReadAmiParameter', actions: ['ssm:GetParameter'], resources: [param(instances.amiParameter)] },
    {
      steps: ['launch'],
      sid: 'RunTaggedInstancesWithImdsV2',
      actions: ['ec2:RunInstances'],
      resources: [ourInstances],
      conditions: {
        StringEquals: {
          [`aws:RequestTag/${STACK_TAG}`]: d,
          // IMDSv2 only: enforced here even if the launch step's MetadataOptions regressed.
          'ec2:MetadataHttpTokens': 'required',
          'ec2:InstanceProfile': instances.instanceProfile.instanceProfileArn,
        },
        // Hop limit 1: containers on the instance cannot reach the instance role.
        NumericLessThanEquals: { 'ec2:MetadataHttpPutResponseHopLimit': 1 },
      },
    },
    {
      steps: ['launch'],
      sid: 'RunWithTaggedVolumes',
      actions: ['ec2:RunInstances'],
      resources: [ec2Arn('volume', '*')],
      conditions: { StringEquals: { [`aws:RequestTag/${STACK_TAG}`]: d } },
    },
    { steps: ['launch'], ...instances.imageGrant },
    { steps: ['launch'], ...instances.findCachedBuilds },
    {
      steps: ['launch'],
      sid: 'RunInOurSubnetAndSecurityGroup',
      actions: ['ec2:RunInstances'],
      resources: [
        ec2Arn('subnet', network.subnetId),
        ec2Arn('security-group', network.securityGroup.securityGroupId),
        // Created by the call itself, in the subnet and group above.
        ec2Arn('network-interface', '*'),
        // Only with use-spot.
        ec2Arn('spot-instances-request', '*'),
        // The snapshots behind the image allowed above.
        ec2Arn('snapshot', '*', ''),
      ],
    },
    {
      steps: ['launch'],
      sid: 'TagOnLaunchOnly',
      actions: ['ec2:CreateTags'],
      resources: [ourInstances, ec2Arn('volume', '*')],
      conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
    },
    // The launch step generates each preview's admin password, stores it here as a SecureString
    // (without overwrite) and hands it to the instance in its user data (IMDSv2 from the host
    // only: containers are a hop too far); a retried launch reads the stored one back. This
    // parameter only: not the task token, the slots or the dials. Encrypted with the AWS managed
    // key aws/ssm, whose key policy lets the account's principals use it through SSM: no kms:
    // grant is needed (a customer managed key would need kms:Encrypt and kms:Decrypt on it).
    // IAM has no condition key for the parameter type; SecureString is the step's to choose.
    {
      steps: ['launch'],
      sid: 'StoreAdminPassword',
      actions: ['ssm:GetParameter', 'ssm:PutParameter'],
      resources: [param(`${root}/previews/*/admin-password`)],
    },
    {
      steps: ['launch'],
      sid: 'PassTheInstanceRoleOnly',
      actions: ['iam:PassRole'],
      resources: [instances.instanceRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    },
    // The first spot launch in an account creates EC2's spot service-linked role.
    {
      steps: ['launch'],
      sid: 'SpotServiceLinkedRole',
      actions: ['iam:CreateServiceLinkedRole'],
      resources: [
        stack.formatArn({
          service: 'iam',
          region: '',
          resource: 'role',
          resourceName: 'aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot',
        }),
      ],
      conditions: { StringLike: { 'iam:AWSServiceName': 'spot.amazonaws.com' } },
    },
  ];
}
