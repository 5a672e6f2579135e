import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

import { readAsl } from './asl';
import { InstanceAccess } from './constructs/instance-access';
import { PreviewNames } from './constructs/names';
import { Network } from './constructs/network';
import { resolvePreviewDomain } from './constructs/preview-dns';
import { Dials, Steps } from './constructs/steps';
import { Web } from './constructs/web';
import { Workflow } from './constructs/workflow';

/** The repository root (cdk/ is one level down). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The stack's settings: bin/app.ts fills them from context values. */
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
  /**
   * Who may reach previews on port 80 (and 443 with `previewDomain`). Default everyone
   * (`0.0.0.0/0` and `::/0`). With `previewDomain` and Let's Encrypt, narrowing it stops the
   * certificates: the CA validates from addresses it does not publish.
   */
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
   * Name of an existing Secrets Manager secret holding the service's GitHub token, instead of
   * the `<prefix>/web/github-token` secret the stack creates (`PREVIEW_GITHUB_TOKEN_SECRET_ARN`
   * of the web app and the PR-status function: the PR picker, membership checks, PR comments and
   * deployments). A blank token: GitHub is called anonymously and PR statuses fail.
   */
  readonly githubTokenSecretName?: string;
  /**
   * The GitHub App's client id: people sign in with GitHub (`PREVIEW_AUTH_MODE=github`,
   * `PREVIEW_GITHUB_CLIENT_ID`). Default none: the shared access code.
   */
  readonly githubClientId?: string;
  /** Orgs (`org`) and teams (`org/team-slug`) whose members may sign in (`PREVIEW_GITHUB_ORGS`). */
  readonly githubOrgs?: string[];
  /** Logins who may sign in and stop or extend anyone's preview (`PREVIEW_GITHUB_MAINTAINERS`). */
  readonly githubMaintainers?: string[];
  /**
   * GitHub logins whose `/preview` comments the webhook acts on (`PREVIEW_GITHUB_ALLOWED_USERS`).
   * Default none: the webhook then acts for nobody.
   */
  readonly githubAllowedUsers?: string[];

  /** Serve the web app on this name through CloudFront (needs `certificateArn`). */
  readonly domainName?: string;
  /** ACM certificate for `domainName`, in us-east-1. */
  readonly certificateArn?: string;
  /**
   * Route 53 zone to add the alias records to (with `hostedZoneName`); with `previewDomain`, also
   * the zone the previews' A records go into. `Z…` (a leading `/hostedzone/` is dropped).
   */
  readonly hostedZoneId?: string;
  /** The name of the zone `hostedZoneId` (`example.org`, or `previews.example.org` for a zone of its own). */
  readonly hostedZoneName?: string;

  /**
   * HTTPS previews with friendly names: the previews' full DNS suffix (the steps' `domain-name`
   * dial), e.g. `previews.example.org`. Each preview is then served at
   * `https://<label>.<previewDomain>/` (label `b<PR>-u<PR>-<4 hex>`, new for every launch), with
   * an A record the steps make in `hostedZoneId` and a Let's Encrypt certificate the instance
   * gets itself; port 443 opens next to 80. Needs `hostedZoneId` and `hostedZoneName`, and must be
   * `hostedZoneName` itself or a name under it (`previews.example.org` in the zone `example.org`).
   * Give the previews a suffix of their own: the steps may change any A record under it, and the
   * reaper deletes preview-shaped ones no live preview names. Default none: plain HTTP on each
   * instance's EC2 name.
   */
  readonly previewDomain?: string;
  /**
   * The ACME directory URL the instances get their certificates from (the `acme-ca` dial), e.g.
   * Let's Encrypt's staging `https://acme-staging-v02.api.letsencrypt.org/directory` to try it
   * out. Only with `previewDomain`. Default Let's Encrypt production.
   */
  readonly acmeCa?: string;
}

/**
 * dspace-preview: the step Lambdas, the state machine, the reaper, the web app and their IAM,
 * composed from the parts in `constructs/`.
 */
export class PreviewStack extends cdk.Stack {
  /** The deployment name (`PREVIEW_STACK`). */
  readonly deployment: string;
  /** The step functions by binary name (reaper included). */
  readonly functions: Record<string, lambda.Function>;
  /** The preview state machine. */
  readonly stateMachine: sfn.StateMachine;
  /** The web app's function (absent with `web: false`). */
  readonly webFunction?: lambda.Function;
  /** The PR-status function (absent with `web: false`: AnnounceReady is then a Pass state). */
  readonly prStatusFunction?: lambda.Function;
  /** The preview instances' role. */
  readonly instanceRole: iam.Role;
  /** The preview instances' security group. */
  readonly securityGroup: ec2.SecurityGroup;
  /** The previews' log group. */
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

    const previewDomain = resolvePreviewDomain(props);

    const names = new PreviewNames(this, d);
    const network = new Network(this, {
      deployment: d,
      vpcId: props.vpcId,
      subnetId: props.subnetId,
      allowedCidrs: props.allowedCidrs,
      https: previewDomain !== undefined,
    });
    this.securityGroup = network.securityGroup;
    const instances = new InstanceAccess(this, {
      names,
      buildCacheDays: dials.buildCacheDays,
      logRetention,
      amiParameter: props.amiParameter,
      amiId: props.amiId,
      amiOwner: props.amiOwner,
    });
    this.buildCache = instances.buildCache;
    this.previewLogGroup = instances.previewLogGroup;
    this.instanceRole = instances.instanceRole;
    const steps = new Steps(this, { names, dials, network, instances, lambdaDir: props.lambdaDir, architecture, logRetention, previewDomain });
    this.functions = steps.functions;

    const webConcurrency = props.webConcurrency ?? 20;
    checkWholeNumber('webConcurrency', webConcurrency, 1, 1000);
    const githubAllowedUsers = checkGitHubLogins('githubAllowedUsers', props.githubAllowedUsers ?? []);
    const githubMaintainers = checkGitHubLogins('githubMaintainers', props.githubMaintainers ?? []);
    const githubOrgs = checkGitHubOrgs(props.githubOrgs ?? []);
    const githubClientId = checkGitHubClientId(props.githubClientId);
    let web: Web | undefined;
    if (props.web ?? true) {
      web = new Web(this, {
        names,
        steps,
        instances,
        concurrency: webConcurrency,
        githubAllowedUsers,
        githubClientId,
        githubOrgs,
        githubMaintainers,
        githubTokenSecretName: props.githubTokenSecretName,
        domainName: props.domainName,
        certificateArn: props.certificateArn,
        hostedZoneId: props.hostedZoneId,
        hostedZoneName: props.hostedZoneName,
      });
      this.webFunction = web.function;
      this.prStatusFunction = web.prStatus;
    }
    const workflow = new Workflow(this, {
      names,
      functions: steps.functions,
      prStatus: web?.prStatus,
      aslPath,
      logRetention,
      reaperIntervalMinutes: props.reaperIntervalMinutes,
      alarmEmail: props.alarmEmail,
    });
    this.stateMachine = workflow.stateMachine;

    new cdk.CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new cdk.CfnOutput(this, 'PreviewLogGroup', { value: instances.previewLogGroup.logGroupName });
    new cdk.CfnOutput(this, 'AmiParameter', {
      value: instances.amiParameter,
      description: 'The launch step reads the AMI id from here (Packer writes /dspace-preview/ami-id)',
    });
    new cdk.CfnOutput(this, 'ConfigPath', {
      value: `${names.root}/config/`,
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

/**
 * The logins, without a leading `@` or spaces; throws for one GitHub would not allow (1 to 39
 * letters, digits and single inner dashes), which could never match a commenter.
 */
function checkGitHubLogins(setting: string, logins: readonly string[]): string[] {
  const cleaned = logins.map((l) => l.trim().replace(/^@/, '')).filter((l) => l.length > 0);
  for (const login of cleaned) {
    if (login.length > 39 || !/^[A-Za-z0-9](?:-?[A-Za-z0-9])*$/.test(login)) {
      throw new Error(`${setting}: '${login}' is not a GitHub login (letters, digits and single inner dashes, at most 39)`);
    }
  }
  return [...new Set(cleaned)];
}

/**
 * The orgs and teams, trimmed; throws for an entry web/src/membership.rs would refuse at start
 * (`org` or `org/team-slug`, each letters, digits, `-` and `_`, at most 100).
 */
function checkGitHubOrgs(groups: readonly string[]): string[] {
  const cleaned = groups.map((g) => g.trim()).filter((g) => g.length > 0);
  for (const group of cleaned) {
    if (!/^[A-Za-z0-9_-]{1,100}(?:\/[A-Za-z0-9_-]{1,100})?$/.test(group)) {
      throw new Error(`githubOrgs: '${group}' is neither an org nor org/team-slug (letters, digits, '-' and '_')`);
    }
  }
  return [...new Set(cleaned)];
}

/** The client id, trimmed; throws for one no GitHub App or OAuth app has (`Iv1.0123…`, `Iv23li…`). */
function checkGitHubClientId(id: string | undefined): string | undefined {
  const trimmed = id?.trim();
  if (!trimmed) return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{7,63}$/.test(trimmed)) {
    throw new Error(`githubClientId: '${trimmed}' is not a GitHub App client id (like Iv23liAbCdEf01234567)`);
  }
  return trimmed;
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
