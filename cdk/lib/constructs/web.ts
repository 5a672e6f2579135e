import * as cdk from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as r53targets from 'aws-cdk-lib/aws-route53-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

import {
  GITHUB_CALLBACK_PATH,
  PR_STATUS,
  WEBHOOK_PATH,
  WEB_BIN,
  accessCodeSecretName,
  githubClientSecretName,
  githubTokenSecretNameOf,
  webhookSecretName,
} from '../catalog';
import { InstanceAccess } from './instance-access';
import { PreviewNames } from './names';
import { Steps } from './steps';

/**
 * The PR-status function's access code: a fixed, public value, since it signs no sessions and
 * checks no sign-ins (web/src/state.rs still needs one to build its state).
 */
export const PR_STATUS_ACCESS_CODE = '(pr-status: no sign-ins here)';

/** What the web app needs from the stack. */
export interface WebProps {
  /** The stack's shared names and ARNs. */
  readonly names: PreviewNames;
  /** The steps, whose function factory and build cache environment the web app shares. */
  readonly steps: Steps;
  /** The instances' log group and build cache. */
  readonly instances: InstanceAccess;
  /** The most web requests served at once (reserved concurrency). */
  readonly concurrency: number;
  /**
   * GitHub logins the webhook acts for (`PREVIEW_GITHUB_ALLOWED_USERS`); none (the default):
   * it acts for nobody.
   */
  readonly githubAllowedUsers?: readonly string[];
  /** The GitHub App's client id: people then sign in with GitHub (`PREVIEW_AUTH_MODE=github`). */
  readonly githubClientId?: string;
  /** Orgs (`org`) and teams (`org/team-slug`) whose members may sign in (`PREVIEW_GITHUB_ORGS`). */
  readonly githubOrgs?: readonly string[];
  /** Logins who may sign in and stop or extend any preview (`PREVIEW_GITHUB_MAINTAINERS`). */
  readonly githubMaintainers?: readonly string[];
  /**
   * An existing Secrets Manager secret (name) holding the service's GitHub token, used instead
   * of the one the stack creates.
   */
  readonly githubTokenSecretName?: string;
  /** Serve the web app on this name through CloudFront (needs `certificateArn`). */
  readonly domainName?: string;
  /** ACM certificate for `domainName`, in us-east-1. */
  readonly certificateArn?: string;
  /** Route 53 zone to add the alias records to (with `hostedZoneName`). */
  readonly hostedZoneId?: string;
  /** The name of the zone `hostedZoneId`. */
  readonly hostedZoneName?: string;
}

/**
 * The web app: its function and grants, its secrets, its Function URL and, with a domain name,
 * the CloudFront distribution and alias records in front of it. Adds its resources to the stack
 * itself (see `Network` for why).
 */
export class Web {
  /** The web app's function. */
  readonly function: lambda.Function;
  /** The PR-status function (the PR comment and the GitHub deployment status). */
  readonly prStatus: lambda.Function;

  constructor(stack: cdk.Stack, props: WebProps) {
    const { names } = props;
    const { root, deployment: d } = names;
    // The web app's secrets. It gets their ARNs and reads the values at run time (cached), so
    // they are in neither the template nor the function's configuration, and a code the
    // operator puts into the secret applies without a deploy.
    const secret = (id: string, secretName: string, description: string, length: number) =>
      new secretsmanager.Secret(stack, id, {
        secretName,
        description,
        generateSecretString: { passwordLength: length, excludePunctuation: true, includeSpace: false },
        removalPolicy: cdk.RemovalPolicy.DESTROY,
      });
    // 64 letters and digits: about 380 bits, past the signer's 32-byte minimum.
    const linkKey = secret('WebLinkKey', `${names.prefix}/web/link-key`, `dspace-preview ${d}: signs web sessions, CSRF tokens and callback links`, 64);
    const accessCode = secret('WebAccessCode', accessCodeSecretName(d), `dspace-preview ${d}: the web app's shared sign-in code`, 20);
    new cdk.CfnOutput(stack, 'AccessCodeSecret', {
      value: accessCodeSecretName(d),
      description:
        'The sign-in code: aws secretsmanager get-secret-value --query SecretString --output text --secret-id <this>; ' +
        "set your own with put-secret-value --secret-id <this> --secret-string '<code>'",
    });
    // The GitHub webhook's secret: the same value goes into the hook's settings on GitHub. Each
    // Lambda instance reads it once, at its start (web/src/state.rs): a new value reaches every
    // instance only after they are replaced (a deploy that changes the function does that).
    const webhookSecret = secret('WebGitHubWebhookSecret', webhookSecretName(d), `dspace-preview ${d}: the GitHub webhook's secret (X-Hub-Signature-256)`, 40);
    new cdk.CfnOutput(stack, 'GitHubWebhookSecret', {
      value: webhookSecretName(d),
      description:
        "The GitHub webhook's secret: aws secretsmanager get-secret-value --query SecretString --output text --secret-id <this>",
    });
    // Sign in with GitHub: the GitHub App's client secret. Created with a random placeholder
    // (never in the template) that GitHub refuses, so nobody signs in until the operator puts
    // the app's client secret here; read once per Lambda instance, at its start.
    const clientSecret = secret(
      'WebGitHubClientSecret',
      githubClientSecretName(d),
      `dspace-preview ${d}: the GitHub App's client secret (sign in with GitHub); put the app's value here`,
      40,
    );
    new cdk.CfnOutput(stack, 'GitHubClientSecret', {
      value: githubClientSecretName(d),
      description: "The GitHub App's client secret goes here: aws secretsmanager put-secret-value --secret-id <this> --secret-string '<secret>'",
    });
    // The service's GitHub token (PR comments and deployments, the PR picker, membership checks).
    // Created blank, which the web crate takes as no token (anonymous calls, as before); the
    // operator puts an installation or fine-grained token here. Or an existing secret, by name.
    const token = props.githubTokenSecretName
      ? {
          id: props.githubTokenSecretName,
          // A secret named, not created here: its ARN ends with Secrets Manager's 6 random characters.
          arn: stack.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: `${props.githubTokenSecretName}-??????`,
            arnFormat: cdk.ArnFormat.COLON_RESOURCE_NAME,
          }),
        }
      : (() => {
          const created = new secretsmanager.Secret(stack, 'GitHubServiceToken', {
            secretName: githubTokenSecretNameOf(d),
            description: `dspace-preview ${d}: GitHub token for PR comments, deployments and membership checks (blank: none)`,
            // A blank placeholder, not a secret: the operator replaces it.
            secretStringValue: cdk.SecretValue.unsafePlainText(' '),
            removalPolicy: cdk.RemovalPolicy.DESTROY,
          });
          new cdk.CfnOutput(stack, 'GitHubTokenSecret', {
            value: githubTokenSecretNameOf(d),
            description: "The service's GitHub token goes here: aws secretsmanager put-secret-value --secret-id <this> --secret-string '<token>'",
          });
          return { id: created.secretArn, arn: created.secretArn };
        })();
    // The web app's public URL: only a custom domain can be given to the function itself (its
    // own Function URL would be a circular reference); without one it uses the request's Host,
    // which on a Function URL is that URL.
    const publicUrl = props.domainName ? `https://${props.domainName}` : undefined;
    const web = (this.function = props.steps.makeFunction(
      // Capped, so a flood of requests cannot take the concurrency the steps need.
      { bin: WEB_BIN, id: 'Web', timeoutSeconds: 30, reservedConcurrency: props.concurrency },
      `${names.prefix}-web`,
      `dspace-preview ${d}: the web app`,
      {
        PREVIEW_LINK_KEY_SECRET_ARN: linkKey.secretArn,
        PREVIEW_ACCESS_CODE_SECRET_ARN: accessCode.secretArn,
        PREVIEW_GITHUB_WEBHOOK_SECRET_ARN: webhookSecret.secretArn,
        // Empty: the webhook checks signatures but acts for nobody.
        PREVIEW_GITHUB_ALLOWED_USERS: (props.githubAllowedUsers ?? []).join(','),
        PREVIEW_AUTH_MODE: props.githubClientId ? 'github' : 'access-code',
        ...(props.githubClientId ? { PREVIEW_GITHUB_CLIENT_ID: props.githubClientId } : {}),
        PREVIEW_GITHUB_CLIENT_SECRET_ARN: clientSecret.secretArn,
        PREVIEW_GITHUB_ORGS: (props.githubOrgs ?? []).join(','),
        PREVIEW_GITHUB_MAINTAINERS: (props.githubMaintainers ?? []).join(','),
        PREVIEW_GITHUB_TOKEN_SECRET_ARN: token.id,
        ...(publicUrl ? { PREVIEW_PUBLIC_URL: publicUrl } : {}),
        // Served over HTTPS only (Function URL, CloudFront).
        PREVIEW_COOKIE_SECURE: 'true',
        ...props.steps.buildCacheEnv,
      },
    ));
    web.addToRolePolicy(
      // These only; DescribeSecret and the rest are not needed to read a value.
      new iam.PolicyStatement({
        sid: 'ReadOwnSecrets',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [linkKey.secretArn, accessCode.secretArn, webhookSecret.secretArn, clientSecret.secretArn, token.arn],
      }),
    );
    web.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'StartAndListOurExecutions',
        actions: ['states:StartExecution', 'states:ListExecutions'],
        resources: [names.stateMachineArn],
      }),
    );
    web.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadAndStopOurExecutions',
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory', 'states:StopExecution'],
        resources: [names.executionsArn],
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
    web.addToRolePolicy(new iam.PolicyStatement(props.instances.findCachedBuilds));
    web.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadPreviewParametersAndDials',
        actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
        resources: [names.param(`${root}/previews/*`), ...names.pathArns(`${root}/config`), ...names.pathArns(`${root}/slots`)],
      }),
    );
    web.addToRolePolicy(
      // Stop while no task token waits (building, between two waits): the steps pick it up.
      new iam.PolicyStatement({ sid: 'RequestStops', actions: ['ssm:PutParameter'], resources: [names.stopRequests] }),
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
        resources: webLists.flatMap((p) => names.pathArns(p)),
      }),
    );
    web.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'TakeAndFreeLaunchPlacesAndSignOuts',
        actions: ['ssm:PutParameter', 'ssm:DeleteParameters'],
        resources: webLists.map((p) => names.param(`${p}/*`)),
      }),
    );
    // GitHub webhook deliveries (web/src/webhook/deliveries.rs): webhook-deliveries/<delivery id>,
    // created without Overwrite (each delivery acts once), listed by path (not recursive) to age
    // them out, deleted with DeleteParameters. Nothing read by name.
    const deliveries = `${root}/webhook-deliveries`;
    web.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ListWebhookDeliveries', actions: ['ssm:GetParametersByPath'], resources: names.pathArns(deliveries) }),
    );
    web.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RecordAndForgetWebhookDeliveries',
        actions: ['ssm:PutParameter', 'ssm:DeleteParameters'],
        resources: [names.param(`${deliveries}/*`)],
      }),
    );
    web.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadPreviewLogs',
        actions: ['logs:FilterLogEvents', 'logs:GetLogEvents', 'logs:DescribeLogStreams'],
        resources: props.instances.previewLogArns,
      }),
    );
    // Admin-password reveals (web/src/reveals.rs): password-views/<preview id>/<millis>-<who>,
    // created without Overwrite (a record is never replaced) and listed by the preview's path
    // (not recursive). Never deleted by the web app; outside previews/, so the workflow's
    // clean-ups leave them for the audit log.
    const views = `${root}/password-views`;
    web.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ListPasswordViews', actions: ['ssm:GetParametersByPath'], resources: [names.param(`${views}/*`)] }),
    );
    web.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'RecordPasswordViews', actions: ['ssm:PutParameter'], resources: [names.param(`${views}/*/*`)] }),
    );
    // The app does its own sign-in; the URL itself is public.
    const url = web.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    let webUrl: string = url.url;
    if (props.domainName) {
      if (!props.certificateArn) throw new Error('domainName needs certificateArn (an ACM certificate in us-east-1)');
      const distribution = new cloudfront.Distribution(stack, 'WebDistribution', {
        comment: `dspace-preview ${d} web app`,
        domainNames: [props.domainName],
        certificate: acm.Certificate.fromCertificateArn(stack, 'WebCertificate', props.certificateArn),
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
        const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', {
          hostedZoneId: props.hostedZoneId,
          zoneName: props.hostedZoneName,
        });
        const target = route53.RecordTarget.fromAlias(new r53targets.CloudFrontTarget(distribution));
        new route53.ARecord(stack, 'WebAlias', { zone, recordName: props.domainName, target });
        new route53.AaaaRecord(stack, 'WebAliasV6', { zone, recordName: props.domainName, target });
      }
      webUrl = `https://${props.domainName}/`;
      new cdk.CfnOutput(stack, 'DistributionDomainName', {
        value: distribution.distributionDomainName,
        description: 'Point your DNS name here (CNAME) if Route 53 does not hold the zone',
      });
    }
    new cdk.CfnOutput(stack, 'WebUrl', { value: webUrl, description: 'The dspace-preview web app' });
    new cdk.CfnOutput(stack, 'GitHubOAuthCallbackUrl', {
      value: `${webUrl}${GITHUB_CALLBACK_PATH}`,
      description: "The GitHub App's callback URL (sign in with GitHub)",
    });

    // The PR-status function: the web crate's code, reading executions and signing links like
    // the web app, with the web app's settings for that and no more. It builds the web app's
    // state, which needs an access code; it signs no sessions, so it gets a fixed non-secret one
    // instead of read access to the real code, and the access-code mode (no client secret to read).
    const prStatus = (this.prStatus = props.steps.makeFunction(
      PR_STATUS,
      `${names.prefix}-${PR_STATUS.name}`,
      `dspace-preview ${d}: the PR comment and GitHub deployment status of each preview`,
      {
        PREVIEW_LINK_KEY_SECRET_ARN: linkKey.secretArn,
        PREVIEW_ACCESS_CODE: PR_STATUS_ACCESS_CODE,
        PREVIEW_AUTH_MODE: 'access-code',
        PREVIEW_GITHUB_TOKEN_SECRET_ARN: token.id,
        // Both URLs end with '/'; the crate trims it.
        PREVIEW_PUBLIC_URL: webUrl,
      },
    ));
    prStatus.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadLinkKeyAndGitHubToken',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [linkKey.secretArn, token.arn],
      }),
    );
    prStatus.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadOurExecutions',
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        resources: [names.executionsArn],
      }),
    );
    new cdk.CfnOutput(stack, 'FunctionUrl', { value: url.url, description: "The web app's Lambda Function URL" });
    // Both URLs end with '/'.
    new cdk.CfnOutput(stack, 'GitHubWebhookUrl', {
      value: `${webUrl}${WEBHOOK_PATH}`,
      description: 'Payload URL of the GitHub webhook (application/json, "Issue comments", secret: GitHubWebhookSecret)',
    });
  }
}
