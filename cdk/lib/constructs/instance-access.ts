import * as cdk from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';

import { AMI_TAG } from '../catalog';
import { PreviewNames } from './names';

/** What the instances' access needs from the stack's props. */
export interface InstanceAccessProps {
  /** The stack's shared names and ARNs. */
  readonly names: PreviewNames;
  /** Days a built image stays in the build cache. */
  readonly buildCacheDays: number;
  /** Retention of the previews' log group. */
  readonly logRetention: logs.RetentionDays;
  /** SSM parameter holding the AMI id, when no `amiId`. */
  readonly amiParameter?: string;
  /** A fixed AMI id instead. */
  readonly amiId?: string;
  /** The account that owns the AMI (when no `amiId`); default the stack's. */
  readonly amiOwner?: string;
}

/** A policy statement as data: what `new iam.PolicyStatement` takes. */
export type StatementSpec = iam.PolicyStatementProps & { readonly sid: string };

/**
 * What the preview instances run from and as: the AMI, the instance role and profile, their log
 * group and the ECR build cache they pull and push. Adds its resources to the stack itself (see
 * `Network` for why).
 */
export class InstanceAccess {
  /** The ECR repository the instances keep built preview images in. */
  readonly buildCache: ecr.Repository;
  /** The previews' log group (`/dspace-preview/<deployment>`). */
  readonly previewLogGroup: logs.LogGroup;
  /** The previews' log group and its streams: what the web app reads. */
  readonly previewLogArns: string[];
  /** The instance role. */
  readonly instanceRole: iam.Role;
  /** The instance profile the launch step passes. */
  readonly instanceProfile: iam.InstanceProfile;
  /** The SSM parameter the launch step reads the AMI id from. */
  readonly amiParameter: string;
  /** The launch step's RunInstances grant on the image(s) it may launch. */
  readonly imageGrant: StatementSpec;
  /** Whether a cached build exists, before launching or for the form: tags, never image contents. */
  readonly findCachedBuilds: StatementSpec;

  constructor(stack: cdk.Stack, props: InstanceAccessProps) {
    const { names } = props;
    const d = names.deployment;

    // ---- the build cache: images the instances built, so a later preview of the same commits pulls them ----
    const buildCache = (this.buildCache = new ecr.Repository(stack, 'BuildCache', {
      repositoryName: names.buildCacheName,
      // Tags name the commits built (backend-<sha>-<sha>): once pushed, no preview can replace one.
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      // Short-lived builds of pull requests under review: nobody would act on scan findings.
      imageScanOnPush: false,
      // A cache: `cdk destroy` removes it with its images.
      removalPolicy: cdk.RemovalPolicy.DESTROY,
      emptyOnDelete: true,
      lifecycleRules: [
        {
          description: `cached builds expire ${props.buildCacheDays} days after their push`,
          tagStatus: ecr.TagStatus.ANY,
          maxImageAge: cdk.Duration.days(props.buildCacheDays),
        },
      ],
    }));
    // AES256 (S3-managed keys, no KMS grant needed), stated in the template: CDK leaves ECR's default out.
    (buildCache.node.defaultChild as ecr.CfnRepository).encryptionConfiguration = { encryptionType: 'AES256' };
    this.findCachedBuilds = { sid: 'FindCachedBuilds', actions: ['ecr:DescribeImages'], resources: [names.buildCacheArn] };

    // ---- the previews' log group and the instance role ----
    const previewLogs = (this.previewLogGroup = new logs.LogGroup(stack, 'PreviewLogs', {
      logGroupName: names.root,
      retention: props.logRetention,
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    }));
    const previewLogStreams = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${names.root}:log-stream:*`,
      arnFormat: cdk.ArnFormat.COLON_RESOURCE_NAME,
    });
    this.previewLogArns = [
      stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: names.root, arnFormat: cdk.ArnFormat.COLON_RESOURCE_NAME }),
      previewLogs.logGroupArn, // ...:log-group:<name>:* (its streams)
    ];
    // The instance role. The instance runs untrusted pull-request code: containers are kept from
    // the role by IMDSv2 with hop limit 1 (required by the launch role's RunInstances grant), and
    // what the host-side agents (SSM agent, CloudWatch agent, Docker's awslogs driver) may do with
    // it is only what they need. No managed policy: AmazonSSMManagedInstanceCore would allow
    // ssm:GetParameter(s) on "*" and association, inventory and patching calls nothing here uses.
    // The instance writes no SSM parameter: the launch step stores the admin password.
    const instanceRole = (this.instanceRole = new iam.Role(stack, 'InstanceRole', {
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
        resources: [names.buildCacheArn],
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
    this.instanceProfile = new iam.InstanceProfile(stack, 'InstanceProfile', { role: instanceRole });

    // ---- the AMI ----
    const amiOwner = props.amiOwner ?? stack.account;
    if (props.amiId !== undefined) {
      if (!/^ami-[0-9a-f]{8,17}$/.test(props.amiId)) throw new Error(`amiId '${props.amiId}' is not an AMI id`);
      this.amiParameter = `${names.root}/ami-id`;
      new ssm.StringParameter(stack, 'AmiId', {
        parameterName: this.amiParameter,
        stringValue: props.amiId,
        dataType: ssm.ParameterDataType.AWS_EC2_IMAGE,
        description: 'The AMI previews launch from (fixed by the CDK app)',
      });
      this.imageGrant = {
        sid: 'RunOnlyOurImage',
        actions: ['ec2:RunInstances'],
        resources: [names.ec2Arn('image', props.amiId, '')],
      };
    } else {
      this.amiParameter = props.amiParameter ?? '/dspace-preview/ami-id';
      // The AMI changes with every Packer build, so the image is pinned by owner and tag instead.
      this.imageGrant = {
        sid: 'RunOnlyOurImages',
        actions: ['ec2:RunInstances'],
        resources: [names.ec2Arn('image', '*', '')],
        conditions: { StringEquals: { 'ec2:Owner': amiOwner, [`ec2:ResourceTag/${AMI_TAG.key}`]: AMI_TAG.value } },
      };
    }
  }
}
