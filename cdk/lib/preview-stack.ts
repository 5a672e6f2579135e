import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as r53targets from 'aws-cdk-lib/aws-route53-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

import { lambdaCode } from './artifacts';
import { readAsl, substitute } from './asl';
import {
  AMI_TAG,
  IGNORED_DIAL_LOG,
  METRIC_NAMESPACE,
  MUTABLE_TAGS,
  RUNTIME_PARAMETER_KEYS,
  STACK_TAG,
  STEPS,
  StepSpec,
  WEB_BIN,
  accessCodeSecretName,
  envName,
  namePrefix,
} from './catalog';

/** The repository root (cdk/ is one level down). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface PreviewStackProps extends cdk.StackProps {
  /**
   * The deployment's name (`PREVIEW_STACK`): the `dspace-preview:stack` tag value, the SSM root
   * `/dspace-preview/<deployment>`, the preview log group and the prefix of every function name.
   * Lower-case letters, digits and dashes. Default `dspace-preview`.
   */
  readonly deployment?: string;
  /** Folder with `<bin>/bootstrap.zip` (or `<bin>/bootstrap`) per Lambda binary. */
  readonly lambdaDir: string;
  /** The ASL file. Default `statemachine/preview.asl.json` of this repository. */
  readonly aslPath?: string;
  /** Architecture the Lambda zips were built for. Default arm64. */
  readonly lambdaArchitecture?: 'arm64' | 'x86_64';
  /** Deploy the web app (needs its zip). Default true. */
  readonly web?: boolean;
  /** The most web requests served at once (reserved concurrency: a cap, and kept for it). 1 to 1000, default 20. */
  readonly webConcurrency?: number;

  /** An existing VPC for the previews (with `subnetId`). Default: a new VPC, public subnets only, no NAT. */
  readonly vpcId?: string;
  /** The subnet previews launch into; must give instances public IPv4 addresses. */
  readonly subnetId?: string;
  /** Who may reach previews on port 80. Default everyone (`0.0.0.0/0` and `::/0`). */
  readonly allowedCidrs?: string[];

  /** At most this many live previews (`max-live`). Default 3. */
  readonly maxLive?: number;
  /**
   * EC2 instance type (`instance-type`). Default m7i.xlarge (x86_64, like the default AMI): the boot
   * builds backend and UI side by side only with at least 4 vCPUs and 15 GB.
   */
  readonly instanceType?: string;
  /** TTL when a request names none. Default 120. */
  readonly defaultTtlMinutes?: number;
  /** Shortest TTL. Default 30. */
  readonly minTtlMinutes?: number;
  /** Hard maximum lifetime, extensions included. Default 480. */
  readonly maxLifetimeMinutes?: number;
  /** The most a preview may take to become healthy (each one's deadline follows what it builds). Default 90. */
  readonly healthDeadlineMinutes?: number;
  /** Try spot first. Default false. */
  readonly useSpot?: boolean;
  /** Root volume size; at least the AMI's (60 GB by default in ami/packer). Default 60. */
  readonly volumeGib?: number;
  /** The admin e-mail of every preview's DSpace. */
  readonly adminEmail?: string;
  /** Days a built image stays in the build cache after its push (1 to 365). Default 14. */
  readonly buildCacheDays?: number;

  /** SSM parameter holding the AMI id (Packer writes it). Default `/dspace-preview/ami-id`. */
  readonly amiParameter?: string;
  /**
   * A fixed AMI id instead: the stack writes it to `/dspace-preview/<deployment>/ami-id`, reads
   * the AMI from there, and may launch only that image.
   */
  readonly amiId?: string;
  /** The account that owns the AMI (when no `amiId`). Default this account. */
  readonly amiOwner?: string;

  /** Minutes between reaper runs. Default 5. */
  readonly reaperIntervalMinutes?: number;
  /** Retention of every log group, in days. Default 30. */
  readonly logRetentionDays?: number;
  /** Send alarm notifications (failed executions, reaper errors, ignored run-time dials) to this address. */
  readonly alarmEmail?: string;

  /**
   * Name of an existing Secrets Manager secret holding a GitHub token for the PR picker
   * (`PREVIEW_GITHUB_TOKEN`; read-only public-repo access is enough). Without it the app calls
   * GitHub anonymously: 60 calls an hour per IP, eased by its ETag cache.
   */
  readonly githubTokenSecretName?: string;

  /** Serve the web app on this name through CloudFront (needs `certificateArn`). */
  readonly domainName?: string;
  /** ACM certificate for `domainName`, in us-east-1. */
  readonly certificateArn?: string;
  /** Route 53 zone to add the alias records to (with `hostedZoneName`). */
  readonly hostedZoneId?: string;
  readonly hostedZoneName?: string;
}

/** Every resolved dial: the props with defaults filled in. */
interface Dials {
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

/** dspace-preview: the step Lambdas, the state machine, the reaper, the web app and their IAM. */
export class PreviewStack extends cdk.Stack {
  /** The deployment name (`PREVIEW_STACK`). */
  readonly deployment: string;
  /** The step functions by binary name (reaper included). */
  readonly functions: Record<string, lambda.Function> = {};
  readonly stateMachine: sfn.StateMachine;
  readonly webFunction?: lambda.Function;
  readonly instanceRole: iam.Role;
  readonly securityGroup: ec2.SecurityGroup;
  readonly previewLogGroup: logs.LogGroup;
  /** The ECR repository the instances keep built preview images in. */
  readonly buildCache: ecr.Repository;

  constructor(scope: Construct, id: string, props: PreviewStackProps) {
    super(scope, id, props);
    const d = (this.deployment = props.deployment ?? 'dspace-preview');
    if (!/^[a-z][a-z0-9-]{0,29}[a-z0-9]$/.test(d)) {
      throw new Error(`deployment '${d}': 2 to 31 lower-case letters, digits and dashes, starting with a letter`);
    }
    const dials = resolveDials(props);
    const retention = props.logRetentionDays ?? 30;
    const logRetention = retentionDays(retention);
    const architecture = props.lambdaArchitecture === 'x86_64' ? lambda.Architecture.X86_64 : lambda.Architecture.ARM_64;
    const aslPath = props.aslPath ?? path.join(REPO_ROOT, 'statemachine', 'preview.asl.json');
    const aslTimeout = readAsl(aslPath).TimeoutSeconds as number | undefined;
    if (aslTimeout !== undefined && (dials.maxLifetimeMinutes + dials.healthDeadlineMinutes) * 60 > aslTimeout) {
      throw new Error(
        `maxLifetimeMinutes + healthDeadlineMinutes (${dials.maxLifetimeMinutes + dials.healthDeadlineMinutes} min) ` +
          `exceeds the state machine's TimeoutSeconds (${aslTimeout} s) in ${aslPath}`,
      );
    }
    cdk.Tags.of(this).add('dspace-preview:deployment', d);

    // ---- names and ARNs (built from names, so policies never depend on the resources) ----
    const root = `/dspace-preview/${d}`;
    const param = (name: string) =>
      this.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') });
    const pathArns = (p: string) => [param(p), param(`${p}/*`)];
    const ec2Arn = (resource: string, resourceName: string, account?: string) =>
      this.formatArn({ service: 'ec2', resource, resourceName, account });
    const prefix = namePrefix(d);
    const stateMachineName = prefix;
    const stateMachineArn = this.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: cdk.ArnFormat.COLON_RESOURCE_NAME,
    });
    const executionsArn = this.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stateMachineName}:*`,
      arnFormat: cdk.ArnFormat.COLON_RESOURCE_NAME,
    });
    const buildCacheName = `${prefix}/preview-cache`;
    const buildCacheArn = this.formatArn({ service: 'ecr', resource: 'repository', resourceName: buildCacheName });

    // ---- network: previews are public on port 80 only ----
    let vpc: ec2.IVpc;
    let subnetId: string;
    if (props.vpcId !== undefined || props.subnetId !== undefined) {
      if (!props.vpcId || !props.subnetId) throw new Error('give both vpcId and subnetId, or neither');
      vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: props.vpcId, availabilityZones: cdk.Fn.getAzs() });
      // Only the VPC id is used (for the security group); subnets come from subnetId.
      cdk.Annotations.of(vpc).acknowledgeWarning('@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones', 'only the VPC id is used');
      subnetId = props.subnetId;
    } else {
      // Public subnets only and no NAT gateway: nothing here costs money while idle.
      const created = new ec2.Vpc(this, 'Vpc', {
        ipAddresses: ec2.IpAddresses.cidr('10.80.0.0/16'),
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'previews', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
        restrictDefaultSecurityGroup: false,
      });
      vpc = created;
      subnetId = created.publicSubnets[0].subnetId;
    }
    const sg = (this.securityGroup = new ec2.SecurityGroup(this, 'PreviewSecurityGroup', {
      vpc,
      description: `dspace-preview ${d}: HTTP (80) in to the preview proxy, anything out`,
      allowAllOutbound: true,
    }));
    for (const cidr of props.allowedCidrs ?? ['0.0.0.0/0', '::/0']) {
      const peer = cidr.includes(':') ? ec2.Peer.ipv6(cidr) : ec2.Peer.ipv4(cidr);
      sg.addIngressRule(peer, ec2.Port.tcp(80), 'DSpace UI and REST API through the preview proxy');
    }

    // ---- the build cache: images the instances built, so a later preview of the same commits pulls them ----
    const buildCache = (this.buildCache = new ecr.Repository(this, 'BuildCache', {
      repositoryName: buildCacheName,
      // Tags name the commits built (backend-<sha>-<sha>): once pushed, no preview can replace one.
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      // Short-lived builds of pull requests under review: nobody would act on scan findings.
      imageScanOnPush: false,
      // A cache: `cdk destroy` removes it with its images.
      removalPolicy: cdk.RemovalPolicy.DESTROY,
      emptyOnDelete: true,
      lifecycleRules: [
        {
          description: `cached builds expire ${dials.buildCacheDays} days after their push`,
          tagStatus: ecr.TagStatus.ANY,
          maxImageAge: cdk.Duration.days(dials.buildCacheDays),
        },
      ],
    }));
    // AES256 (S3-managed keys, no KMS grant needed), stated in the template: CDK leaves ECR's default out.
    (buildCache.node.defaultChild as ecr.CfnRepository).encryptionConfiguration = { encryptionType: 'AES256' };

    // ---- the previews' log group and the instance role ----
    const previewLogs = (this.previewLogGroup = new logs.LogGroup(this, 'PreviewLogs', {
      logGroupName: root,
      retention: logRetention,
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    }));
    const previewLogStreams = this.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${root}:log-stream:*`,
      arnFormat: cdk.ArnFormat.COLON_RESOURCE_NAME,
    });
    const previewLogArns = [
      this.formatArn({ service: 'logs', resource: 'log-group', resourceName: root, arnFormat: cdk.ArnFormat.COLON_RESOURCE_NAME }),
      previewLogs.logGroupArn, // ...:log-group:<name>:* (its streams)
    ];
    // The instance role. The instance runs untrusted pull-request code: containers are kept from
    // the role by IMDSv2 with hop limit 1 (required by the launch role's RunInstances grant), and
    // what the host-side agents (SSM agent, CloudWatch agent, Docker's awslogs driver) may do with
    // it is only what they need. No managed policy: AmazonSSMManagedInstanceCore would allow
    // ssm:GetParameter(s) on "*" and association, inventory and patching calls nothing here uses.
    // The instance writes no SSM parameter: the launch step stores the admin password.
    const instanceRole = (this.instanceRole = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `dspace-preview ${d} instances: the SSM agent (Run Command, sessions), writing to their log group, the build cache`,
    }));
    const instanceStatements = [
      // The agent's heartbeat: registers the instance with Systems Manager, so check-health's
      // Run Command and Session Manager can reach it. No resource-level permission in IAM.
      new iam.PolicyStatement({
        sid: 'SsmAgentRegistration',
        actions: ['ssm:UpdateInstanceInformation'],
        resources: ['*'],
      }),
      // Session Manager's channels (a person's shell); recent agents also take Run Command
      // documents this way when they can (Amazon Message Gateway Service). No resource-level permission.
      new iam.PolicyStatement({
        sid: 'SsmAgentMessageGateway',
        actions: [
          'ssmmessages:CreateControlChannel',
          'ssmmessages:CreateDataChannel',
          'ssmmessages:OpenControlChannel',
          'ssmmessages:OpenDataChannel',
        ],
        resources: ['*'],
      }),
      // Run Command delivery through the Message Delivery Service: the channel of older agents and
      // the fallback of newer ones when ssmmessages is not reachable. No resource-level permission.
      new iam.PolicyStatement({
        sid: 'SsmAgentMessageDelivery',
        actions: [
          'ec2messages:AcknowledgeMessage',
          'ec2messages:DeleteMessage',
          'ec2messages:FailMessage',
          'ec2messages:GetEndpoint',
          'ec2messages:GetMessages',
          'ec2messages:SendReply',
        ],
        resources: ['*'],
      }),
      // The CloudWatch agent (boot log) and Docker's awslogs driver (containers) create and write
      // streams in the previews' group, nothing else: neither calls DescribeLogStreams, and the
      // group exists (CreateLogGroup is only their fallback when it does not). IAM cannot narrow
      // this to the instance's own streams (no policy variable yields a bare instance or preview
      // id), so one preview can write into another's streams: see the README's Security section.
      new iam.PolicyStatement({
        sid: 'WriteThePreviewLogGroupStreams',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [previewLogStreams],
      }),
      // Docker's login to the build cache (the registry token). No resource-level permission in IAM.
      new iam.PolicyStatement({
        sid: 'BuildCacheLogin',
        actions: ['ecr:GetAuthorizationToken'],
        resources: ['*'],
      }),
      // Pull a cached build and push a new one, in this repository only. No DeleteImage (the
      // lifecycle rule expires images) and no tag can be overwritten (immutable tags).
      new iam.PolicyStatement({
        sid: 'BuildCachePullAndPush',
        actions: [
          'ecr:BatchCheckLayerAvailability',
          'ecr:GetDownloadUrlForLayer',
          'ecr:BatchGetImage',
          'ecr:InitiateLayerUpload',
          'ecr:UploadLayerPart',
          'ecr:CompleteLayerUpload',
          'ecr:PutImage',
        ],
        resources: [buildCacheArn],
      }),
      // Explicit, on "*", so that no policy attached later (say, an account-wide tool adding
      // AmazonSSMManagedInstanceCore to instance roles) lets a preview read another's admin
      // password or task token, or any other parameter of the account.
      new iam.PolicyStatement({
        sid: 'NeverReadParameters',
        effect: iam.Effect.DENY,
        actions: ['ssm:GetParameter*'],
        resources: ['*'],
      }),
      // Likewise for writes: a preview must not overwrite another's shown admin password, its
      // task token, the slots or the dials. The launch step writes the admin password.
      new iam.PolicyStatement({
        sid: 'NeverWriteParameters',
        effect: iam.Effect.DENY,
        actions: ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:DeleteParameters', 'ssm:LabelParameterVersion'],
        resources: ['*'],
      }),
    ];
    for (const statement of instanceStatements) instanceRole.addToPolicy(statement);
    const instanceProfile = new iam.InstanceProfile(this, 'InstanceProfile', { role: instanceRole });

    // ---- the AMI ----
    let amiParameter = props.amiParameter ?? '/dspace-preview/ami-id';
    const amiOwner = props.amiOwner ?? this.account;
    let imageStatement: iam.PolicyStatement;
    if (props.amiId !== undefined) {
      if (!/^ami-[0-9a-f]{8,17}$/.test(props.amiId)) throw new Error(`amiId '${props.amiId}' is not an AMI id`);
      amiParameter = `${root}/ami-id`;
      new ssm.StringParameter(this, 'AmiId', {
        parameterName: amiParameter,
        stringValue: props.amiId,
        dataType: ssm.ParameterDataType.AWS_EC2_IMAGE,
        description: 'The AMI previews launch from (fixed by the CDK app)',
      });
      imageStatement = new iam.PolicyStatement({
        sid: 'RunOnlyOurImage',
        actions: ['ec2:RunInstances'],
        resources: [ec2Arn('image', props.amiId, '')],
      });
    } else {
      // The AMI changes with every Packer build, so the image is pinned by owner and tag instead.
      imageStatement = new iam.PolicyStatement({
        sid: 'RunOnlyOurImages',
        actions: ['ec2:RunInstances'],
        resources: [ec2Arn('image', '*', '')],
        conditions: { StringEquals: { 'ec2:Owner': amiOwner, [`ec2:ResourceTag/${AMI_TAG.key}`]: AMI_TAG.value } },
      });
    }

    // ---- the dials: environment (deployment structure) and SSM (run-time overrides) ----
    const environment: Record<string, string> = {
      [envName('stack')]: d,
      [envName('max-live')]: String(dials.maxLive),
      [envName('instance-type')]: dials.instanceType,
      [envName('ami-parameter')]: amiParameter,
      [envName('subnet-id')]: subnetId,
      [envName('security-group-ids')]: sg.securityGroupId,
      [envName('instance-profile')]: instanceProfile.instanceProfileName,
      [envName('use-spot')]: String(dials.useSpot),
      [envName('default-ttl-minutes')]: String(dials.defaultTtlMinutes),
      [envName('min-ttl-minutes')]: String(dials.minTtlMinutes),
      [envName('max-lifetime-minutes')]: String(dials.maxLifetimeMinutes),
      [envName('health-deadline-minutes')]: String(dials.healthDeadlineMinutes),
      [envName('volume-gib')]: String(dials.volumeGib),
      [envName('admin-email')]: dials.adminEmail,
      [envName('state-machine-arn')]: stateMachineArn,
      RUST_LOG: 'info',
    };
    // Only for the functions that look for a cached build (launch, web).
    const buildCacheEnv = { [envName('build-cache-repository')]: buildCache.repositoryUri };
    // Whether a cached build exists, before launching or for the form: tags, never image contents.
    const findCachedBuilds = new iam.PolicyStatement({
      sid: 'FindCachedBuilds',
      actions: ['ecr:DescribeImages'],
      resources: [buildCacheArn],
    });
    const runtimeValues: Record<(typeof RUNTIME_PARAMETER_KEYS)[number], string> = {
      'max-live': String(dials.maxLive),
      'instance-type': dials.instanceType,
      'default-ttl-minutes': String(dials.defaultTtlMinutes),
      'max-lifetime-minutes': String(dials.maxLifetimeMinutes),
      'health-deadline-minutes': String(dials.healthDeadlineMinutes),
      'use-spot': String(dials.useSpot),
    };
    for (const key of RUNTIME_PARAMETER_KEYS) {
      new ssm.StringParameter(this, `Dial-${key}`, {
        parameterName: `${root}/config/${key}`,
        stringValue: runtimeValues[key],
        description: `dspace-preview dial ${key}: change it at run time with aws ssm put-parameter --overwrite`,
      });
    }

    // ---- the functions ----
    // Counts the ignored run-time dials in every function's log. A quoted term matches the JSON
    // lines on Lambda and the text lines elsewhere alike. One metric for all functions: a
    // metric filter's dimension values can only come from the log line.
    const ignoredDials = { metricNamespace: METRIC_NAMESPACE, metricName: 'IgnoredRuntimeDials' };
    const makeFunction = (spec: StepSpec, functionName: string, description: string, extraEnv: Record<string, string> = {}) => {
      const logGroup = new logs.LogGroup(this, `${spec.id}Logs`, {
        logGroupName: `/aws/lambda/${functionName}`,
        retention: logRetention,
        removalPolicy: cdk.RemovalPolicy.DESTROY,
      });
      logGroup.addMetricFilter('IgnoredRuntimeDials', {
        ...ignoredDials,
        filterPattern: logs.FilterPattern.literal(`"${IGNORED_DIAL_LOG}"`),
        metricValue: '1',
      });
      // Our own role, not the default one: no AWSLambdaBasicExecutionRole (logs on every group).
      const role = new iam.Role(this, `${spec.id}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `dspace-preview ${d}: the ${spec.bin} function`,
      });
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'OwnLogGroup',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      const fn = new lambda.Function(this, spec.id, {
        functionName,
        description,
        runtime: lambda.Runtime.PROVIDED_AL2023,
        handler: 'bootstrap',
        architecture,
        code: lambdaCode(props.lambdaDir, spec.bin),
        memorySize: 256,
        timeout: cdk.Duration.seconds(spec.timeoutSeconds),
        reservedConcurrentExecutions: spec.reservedConcurrency,
        role,
        logGroup,
        environment: { ...environment, ...extraEnv },
      });
      return fn;
    };
    for (const spec of STEPS) {
      const extraEnv = spec.bin === 'launch' ? buildCacheEnv : {};
      this.functions[spec.bin] = makeFunction(spec, `${prefix}-${spec.bin}`, `dspace-preview ${d}: ${spec.bin} step`, extraEnv);
    }
    const fn = this.functions;

    // ---- least privilege, statement by statement ----
    const grant = (bins: string[], statement: iam.PolicyStatement) => {
      for (const bin of bins) fn[bin].addToRolePolicy(statement);
    };
    const readsConfig = ['check-capacity', 'launch', 'check-health', 'record-url', 'extend', 'reaper'];
    grant(
      readsConfig,
      new iam.PolicyStatement({
        sid: 'ReadRuntimeDials',
        actions: ['ssm:GetParametersByPath'],
        resources: pathArns(`${root}/config`),
      }),
    );
    grant(
      ['check-capacity', 'launch', 'check-health', 'record-url', 'terminate', 'reaper'],
      // Describe* actions cannot be limited to resources in IAM; they only read.
      new iam.PolicyStatement({ sid: 'FindInstances', actions: ['ec2:DescribeInstances'], resources: ['*'] }),
    );
    grant(
      ['check-health', 'record-url', 'await-expiry', 'extend', 'terminate', 'reaper'],
      new iam.PolicyStatement({
        sid: 'TagOurInstances',
        actions: ['ec2:CreateTags'],
        resources: [ec2Arn('instance', '*')],
        conditions: {
          StringEquals: { [`ec2:ResourceTag/${STACK_TAG}`]: d },
          'ForAllValues:StringEquals': { 'aws:TagKeys': MUTABLE_TAGS },
        },
      }),
    );
    grant(
      ['check-capacity', 'terminate', 'reaper'],
      new iam.PolicyStatement({
        sid: 'ReadSlots',
        actions: ['ssm:GetParametersByPath'],
        resources: pathArns(`${root}/slots`),
      }),
    );
    grant(
      ['check-capacity'],
      new iam.PolicyStatement({
        sid: 'TakeSlots',
        actions: ['ssm:PutParameter'],
        resources: [param(`${root}/slots/*`)],
      }),
    );
    grant(
      ['terminate', 'reaper'],
      new iam.PolicyStatement({
        sid: 'EndPreviews',
        actions: ['ssm:GetParametersByPath', 'ssm:DeleteParameters'],
        resources: [param(`${root}/previews/*`), param(`${root}/slots/*`)],
      }),
    );
    grant(
      ['terminate', 'reaper'],
      new iam.PolicyStatement({
        sid: 'TerminateOurInstancesOnly',
        actions: ['ec2:TerminateInstances'],
        resources: [ec2Arn('instance', '*')],
        conditions: { StringEquals: { [`ec2:ResourceTag/${STACK_TAG}`]: d } },
      }),
    );
    const taskTokens = param(`${root}/previews/*/task-token`);
    grant(
      ['await-expiry'],
      new iam.PolicyStatement({
        sid: 'StoreTaskToken',
        actions: ['ssm:PutParameter'],
        resources: [taskTokens],
      }),
    );
    // Stop in every phase: a stop asked for while no task token waits is left at
    // previews/<id>/stop-request (the web app writes it); the health poll and the wait act on it.
    const stopRequests = param(`${root}/previews/*/stop-request`);
    grant(
      ['check-health', 'await-expiry'],
      new iam.PolicyStatement({ sid: 'ReadStopRequests', actions: ['ssm:GetParameter'], resources: [stopRequests] }),
    );
    grant(
      ['await-expiry'],
      // A stop request found while parking the token completes the wait as a stop at once.
      // "*": task-token actions take no resource ARN; the token (only readable from SSM by the roles that need it) is the capability.
      new iam.PolicyStatement({ sid: 'CompleteOwnWaitWithStop', actions: ['states:SendTaskSuccess'], resources: ['*'] }),
    );
    grant(
      ['reaper'],
      new iam.PolicyStatement({
        sid: 'CheckOwnerExecutions',
        actions: ['states:DescribeExecution'],
        resources: [executionsArn],
      }),
    );
    // When a preview's instance dies while its execution waits, the reaper ends the wait as
    // InstanceGone with the stored token.
    grant(
      ['reaper'],
      new iam.PolicyStatement({ sid: 'ReadTaskTokens', actions: ['ssm:GetParameter'], resources: [taskTokens] }),
    );
    grant(
      ['reaper'],
      // "*": task-token actions take no resource ARN; the token (only readable from SSM by the roles that need it) is the capability.
      new iam.PolicyStatement({ sid: 'FailWaitsOfGoneInstances', actions: ['states:SendTaskFailure'], resources: ['*'] }),
    );

    // check-health: Run Command on our instances only, with the one document it uses.
    grant(
      ['check-health'],
      new iam.PolicyStatement({
        sid: 'HealthCommandDocument',
        actions: ['ssm:SendCommand'],
        resources: [this.formatArn({ service: 'ssm', account: '', resource: 'document', resourceName: 'AWS-RunShellScript' })],
      }),
    );
    grant(
      ['check-health'],
      new iam.PolicyStatement({
        sid: 'HealthCommandOnOurInstancesOnly',
        actions: ['ssm:SendCommand'],
        resources: [ec2Arn('instance', '*')],
        conditions: { StringEquals: { [`ssm:resourceTag/${STACK_TAG}`]: d } },
      }),
    );
    grant(
      ['check-health'],
      // GetCommandInvocation supports no resource-level permissions; it only reads results.
      new iam.PolicyStatement({ sid: 'HealthCommandResult', actions: ['ssm:GetCommandInvocation'], resources: ['*'] }),
    );

    // launch: RunInstances authorizes every resource the call touches; each is scoped here.
    grant(
      ['launch'],
      new iam.PolicyStatement({ sid: 'InspectImage', actions: ['ec2:DescribeImages'], resources: ['*'] }),
    );
    grant(
      ['launch'],
      new iam.PolicyStatement({
        sid: 'ReadAmiParameter',
        actions: ['ssm:GetParameter'],
        resources: [param(amiParameter)],
      }),
    );
    grant(
      ['launch'],
      new iam.PolicyStatement({
        sid: 'RunTaggedInstancesWithImdsV2',
        actions: ['ec2:RunInstances'],
        resources: [ec2Arn('instance', '*')],
        conditions: {
          StringEquals: {
            [`aws:RequestTag/${STACK_TAG}`]: d,
            // IMDSv2 only: enforced here even if the launch step's MetadataOptions regressed.
            'ec2:MetadataHttpTokens': 'required',
            'ec2:InstanceProfile': instanceProfile.instanceProfileArn,
          },
          // Hop limit 1: containers on the instance cannot reach the instance role.
          NumericLessThanEquals: { 'ec2:MetadataHttpPutResponseHopLimit': 1 },
        },
      }),
    );
    grant(
      ['launch'],
      new iam.PolicyStatement({
        sid: 'RunWithTaggedVolumes',
        actions: ['ec2:RunInstances'],
        resources: [ec2Arn('volume', '*')],
        conditions: { StringEquals: { [`aws:RequestTag/${STACK_TAG}`]: d } },
      }),
    );
    grant(['launch'], imageStatement);
    grant(['launch'], findCachedBuilds);
    grant(
      ['launch'],
      new iam.PolicyStatement({
        sid: 'RunInOurSubnetAndSecurityGroup',
        actions: ['ec2:RunInstances'],
        resources: [
          ec2Arn('subnet', subnetId),
          ec2Arn('security-group', sg.securityGroupId),
          // Created by the call itself, in the subnet and group above.
          ec2Arn('network-interface', '*'),
          // Only with use-spot.
          ec2Arn('spot-instances-request', '*'),
          // The snapshots behind the image allowed above.
          ec2Arn('snapshot', '*', ''),
        ],
      }),
    );
    grant(
      ['launch'],
      new iam.PolicyStatement({
        sid: 'TagOnLaunchOnly',
        actions: ['ec2:CreateTags'],
        resources: [ec2Arn('instance', '*'), ec2Arn('volume', '*')],
        conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      }),
    );
    grant(
      ['launch'],
      // The launch step generates each preview's admin password, stores it here as a SecureString
      // (without overwrite) and hands it to the instance in its user data (IMDSv2 from the host
      // only: containers are a hop too far); a retried launch reads the stored one back. This
      // parameter only: not the task token, the slots or the dials. Encrypted with the AWS managed
      // key aws/ssm, whose key policy lets the account's principals use it through SSM: no kms:
      // grant is needed (a customer managed key would need kms:Encrypt and kms:Decrypt on it).
      // IAM has no condition key for the parameter type; SecureString is the step's to choose.
      new iam.PolicyStatement({
        sid: 'StoreAdminPassword',
        actions: ['ssm:GetParameter', 'ssm:PutParameter'],
        resources: [param(`${root}/previews/*/admin-password`)],
      }),
    );
    grant(
      ['launch'],
      new iam.PolicyStatement({
        sid: 'PassTheInstanceRoleOnly',
        actions: ['iam:PassRole'],
        resources: [instanceRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }),
    );
    grant(
      ['launch'],
      // The first spot launch in an account creates EC2's spot service-linked role.
      new iam.PolicyStatement({
        sid: 'SpotServiceLinkedRole',
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [
          this.formatArn({
            service: 'iam',
            region: '',
            resource: 'role',
            resourceName: 'aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot',
          }),
        ],
        conditions: { StringLike: { 'iam:AWSServiceName': 'spot.amazonaws.com' } },
      }),
    );

    // ---- the state machine ----
    const substitutions: Record<string, string> = {};
    for (const spec of STEPS) {
      if (spec.placeholder) substitutions[spec.placeholder] = fn[spec.bin].functionArn;
    }
    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention: logRetention,
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    });
    const sm = (this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(substitute(aslPath, substitutions)),
      // Errors only, without execution data: inputs carry task tokens. The history is the audit log.
      logs: { destination: stateMachineLogs, level: sfn.LogLevel.ERROR, includeExecutionData: false },
    }));
    for (const spec of STEPS) {
      if (spec.placeholder) fn[spec.bin].grantInvoke(sm);
    }

    // ---- the reaper: on a schedule, and at once when an execution or an instance ends ----
    const reaperMinutes = props.reaperIntervalMinutes ?? 5;
    new events.Rule(this, 'ReaperSchedule', {
      description: `dspace-preview ${d}: end previews whose execution is gone or whose lifetime is over`,
      schedule: events.Schedule.rate(cdk.Duration.minutes(reaperMinutes)),
      // The next run comes soon enough.
      targets: [new targets.LambdaFunction(fn['reaper'], { retryAttempts: 0 })],
    });
    // An event the reaper could not be given within the hour of retries lands here; the schedule
    // still finds what it was about, only later.
    const reaperDeadLetters = new sqs.Queue(this, 'ReaperDeadLetters', {
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
          detail: { stateMachineArn: [stateMachineArn], status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
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
      new events.Rule(this, id, { ...rule, targets: [reaperOnEvent] });
    }

    // ---- alarms ----
    const topic = props.alarmEmail ? new sns.Topic(this, 'Alarms', { displayName: `dspace-preview ${d}` }) : undefined;
    if (topic && props.alarmEmail) topic.addSubscription(new subs.EmailSubscription(props.alarmEmail));
    const failed = new cloudwatch.Alarm(this, 'FailedExecutions', {
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
    const reaperErrors = new cloudwatch.Alarm(this, 'ReaperErrors', {
      alarmDescription: `dspace-preview ${d}: the reaper failed (strays may keep running)`,
      metric: fn['reaper'].metricErrors({ period: cdk.Duration.hours(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const ignoredDialsAlarm = new cloudwatch.Alarm(this, 'IgnoredRuntimeDialsAlarm', {
      alarmDescription:
        `dspace-preview ${d}: a run-time dial under ${root}/config/ is malformed or unknown and ignored ` +
        `(the deployment's value applies; the web app's home page names it). Fix or delete the parameter.`,
      metric: new cloudwatch.Metric({
        namespace: ignoredDials.metricNamespace,
        metricName: ignoredDials.metricName,
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

    // ---- the web app ----
    const webConcurrency = props.webConcurrency ?? 20;
    checkWholeNumber('webConcurrency', webConcurrency, 1, 1000);
    if (props.web ?? true) {
      // The web app's secrets. It gets their ARNs and reads the values at run time (cached), so
      // they are in neither the template nor the function's configuration, and a code the
      // operator puts into the secret applies without a deploy.
      const secret = (id: string, secretName: string, description: string, length: number) =>
        new secretsmanager.Secret(this, id, {
          secretName,
          description,
          generateSecretString: { passwordLength: length, excludePunctuation: true, includeSpace: false },
          removalPolicy: cdk.RemovalPolicy.DESTROY,
        });
      // 64 letters and digits: about 380 bits, past the signer's 32-byte minimum.
      const linkKey = secret('WebLinkKey', `${prefix}/web/link-key`, `dspace-preview ${d}: signs web sessions, CSRF tokens and callback links`, 64);
      const accessCode = secret('WebAccessCode', accessCodeSecretName(d), `dspace-preview ${d}: the web app's shared sign-in code`, 20);
      new cdk.CfnOutput(this, 'AccessCodeSecret', {
        value: accessCodeSecretName(d),
        description:
          'The sign-in code: aws secretsmanager get-secret-value --query SecretString --output text --secret-id <this>; ' +
          "set your own with put-secret-value --secret-id <this> --secret-string '<code>'",
      });
      const web = (this.webFunction = makeFunction(
        // Capped, so a flood of requests cannot take the concurrency the steps need.
        { bin: WEB_BIN, id: 'Web', timeoutSeconds: 30, reservedConcurrency: webConcurrency },
        `${prefix}-web`,
        `dspace-preview ${d}: the web app`,
        {
          PREVIEW_LINK_KEY_SECRET_ARN: linkKey.secretArn,
          PREVIEW_ACCESS_CODE_SECRET_ARN: accessCode.secretArn,
          // Served over HTTPS only (Function URL, CloudFront).
          PREVIEW_COOKIE_SECURE: 'true',
          ...buildCacheEnv,
          ...(props.githubTokenSecretName
            ? {
                PREVIEW_GITHUB_TOKEN: secretsmanager.Secret.fromSecretNameV2(
                  this,
                  'GitHubToken',
                  props.githubTokenSecretName,
                ).secretValue.unsafeUnwrap(),
              }
            : {}),
        },
      ));
      web.addToRolePolicy(
        // These two only; DescribeSecret and the rest are not needed to read a value.
        new iam.PolicyStatement({
          sid: 'ReadOwnSecrets',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [linkKey.secretArn, accessCode.secretArn],
        }),
      );
      web.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'StartAndListOurExecutions',
          actions: ['states:StartExecution', 'states:ListExecutions'],
          resources: [stateMachineArn],
        }),
      );
      web.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ReadAndStopOurExecutions',
          actions: ['states:DescribeExecution', 'states:GetExecutionHistory', 'states:StopExecution'],
          resources: [executionsArn],
        }),
      );
      web.addToRolePolicy(
        // Extend and stop complete the wait; the token itself, read from
        // /dspace-preview/<deployment>/previews/*, is the capability. It never fails a task.
        new iam.PolicyStatement({
          sid: 'ExtendAndStopCallbacks',
          actions: ['states:SendTaskSuccess'],
          resources: ['*'],
        }),
      );
      web.addToRolePolicy(
        new iam.PolicyStatement({ sid: 'ListInstances', actions: ['ec2:DescribeInstances'], resources: ['*'] }),
      );
      web.addToRolePolicy(findCachedBuilds);
      web.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ReadPreviewParametersAndDials',
          actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
          resources: [param(`${root}/previews/*`), ...pathArns(`${root}/config`), ...pathArns(`${root}/slots`)],
        }),
      );
      web.addToRolePolicy(
        // Stop while no task token waits (building, between two waits): the steps pick it up.
        new iam.PolicyStatement({ sid: 'RequestStops', actions: ['ssm:PutParameter'], resources: [stopRequests] }),
      );
      // Launch limits (web/src/limits.rs): places users/<key>/launches/<k>-<g> (per person) and
      // launches/<k>-<g> (in all), listed by path (not recursive), taken with PutParameter without
      // Overwrite, given back and aged out with DeleteParameters. Sign-outs
      // (web/src/revocations.rs): revoked-sessions/<session id>, the same three calls.
      // GetParametersByPath is authorized on the path's ARN, with or without its trailing slash.
      const webLists = ['users/*/launches', 'launches', 'revoked-sessions'].map((p) => `${root}/${p}`);
      web.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ListLaunchPlacesAndSignOuts',
          actions: ['ssm:GetParametersByPath'],
          resources: webLists.flatMap(pathArns),
        }),
      );
      web.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'TakeAndFreeLaunchPlacesAndSignOuts',
          actions: ['ssm:PutParameter', 'ssm:DeleteParameters'],
          resources: webLists.map((p) => param(`${p}/*`)),
        }),
      );
      web.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ReadPreviewLogs',
          actions: ['logs:FilterLogEvents', 'logs:GetLogEvents', 'logs:DescribeLogStreams'],
          resources: previewLogArns,
        }),
      );
      // The app does its own sign-in; the URL itself is public.
      const url = web.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
      let webUrl: string = url.url;
      if (props.domainName) {
        if (!props.certificateArn) throw new Error('domainName needs certificateArn (an ACM certificate in us-east-1)');
        const distribution = new cloudfront.Distribution(this, 'WebDistribution', {
          comment: `dspace-preview ${d} web app`,
          domainNames: [props.domainName],
          certificate: acm.Certificate.fromCertificateArn(this, 'WebCertificate', props.certificateArn),
          defaultBehavior: {
            origin: new origins.FunctionUrlOrigin(url),
            viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
            cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
            originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          },
          priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
        });
        if (props.hostedZoneId && props.hostedZoneName) {
          const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
            hostedZoneId: props.hostedZoneId,
            zoneName: props.hostedZoneName,
          });
          const target = route53.RecordTarget.fromAlias(new r53targets.CloudFrontTarget(distribution));
          new route53.ARecord(this, 'WebAlias', { zone, recordName: props.domainName, target });
          new route53.AaaaRecord(this, 'WebAliasV6', { zone, recordName: props.domainName, target });
        }
        webUrl = `https://${props.domainName}/`;
        new cdk.CfnOutput(this, 'DistributionDomainName', {
          value: distribution.distributionDomainName,
          description: 'Point your DNS name here (CNAME) if Route 53 does not hold the zone',
        });
      }
      new cdk.CfnOutput(this, 'WebUrl', { value: webUrl, description: 'The dspace-preview web app' });
      new cdk.CfnOutput(this, 'FunctionUrl', { value: url.url, description: "The web app's Lambda Function URL" });
    }

    new cdk.CfnOutput(this, 'StateMachineArn', { value: sm.stateMachineArn });
    new cdk.CfnOutput(this, 'PreviewLogGroup', { value: previewLogs.logGroupName });
    new cdk.CfnOutput(this, 'AmiParameter', {
      value: amiParameter,
      description: 'The launch step reads the AMI id from here (Packer writes /dspace-preview/ami-id)',
    });
    new cdk.CfnOutput(this, 'ConfigPath', {
      value: `${root}/config/`,
      description: 'Run-time dials: aws ssm put-parameter --overwrite --name <path><key> --value ...',
    });
  }
}

function resolveDials(props: PreviewStackProps): Dials {
  const dials: Dials = {
    maxLive: props.maxLive ?? 3,
    instanceType: props.instanceType ?? 'm7i.xlarge',
    defaultTtlMinutes: props.defaultTtlMinutes ?? 120,
    minTtlMinutes: props.minTtlMinutes ?? 30,
    maxLifetimeMinutes: props.maxLifetimeMinutes ?? 480,
    healthDeadlineMinutes: props.healthDeadlineMinutes ?? 90,
    useSpot: props.useSpot ?? false,
    volumeGib: props.volumeGib ?? 60,
    adminEmail: props.adminEmail ?? 'admin@preview.dspace.invalid',
    buildCacheDays: props.buildCacheDays ?? 14,
  };
  for (const key of ['maxLive', 'defaultTtlMinutes', 'minTtlMinutes', 'maxLifetimeMinutes', 'healthDeadlineMinutes', 'volumeGib'] as const) {
    const v = dials[key];
    if (!Number.isInteger(v) || v < 1) throw new Error(`${key} must be a whole number of at least 1, got ${v}`);
  }
  if (!(dials.minTtlMinutes <= dials.defaultTtlMinutes && dials.defaultTtlMinutes <= dials.maxLifetimeMinutes)) {
    throw new Error(
      `TTLs must satisfy minTtlMinutes (${dials.minTtlMinutes}) <= defaultTtlMinutes (${dials.defaultTtlMinutes}) <= maxLifetimeMinutes (${dials.maxLifetimeMinutes})`,
    );
  }
  checkWholeNumber('buildCacheDays', dials.buildCacheDays, 1, 365);
  if (!/^[a-z0-9]+[a-z0-9-]*\.[a-z0-9]+$/.test(dials.instanceType)) {
    throw new Error(`instanceType '${dials.instanceType}' does not look like an EC2 instance type`);
  }
  return dials;
}

/** Throws, naming the setting, unless `value` is a whole number from `min` to `max`. */
function checkWholeNumber(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
  }
}

/** Days → the nearest allowed CloudWatch Logs retention (rounded up). */
function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays)
    .filter((v): v is number => typeof v === 'number' && v > 0)
    .sort((a, b) => a - b);
  const pick = allowed.find((v) => v >= days);
  if (pick === undefined) throw new Error(`logRetentionDays ${days}: at most ${allowed[allowed.length - 1]}`);
  return pick as logs.RetentionDays;
}
