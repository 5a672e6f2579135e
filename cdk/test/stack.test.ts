import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Annotations, Match } from 'aws-cdk-lib/assertions';

import catalog from '../lib/catalog.json';
import { DIALS, IGNORED_DIAL_LOG, OTHER_FUNCTIONS, RUNTIME_PARAMETER_KEYS, STEPS, WEB_BIN } from '../lib/catalog';
import { PR_STATUS_ACCESS_CODE } from '../lib/constructs/web';
import {
  REPO_ROOT,
  defaultStack,
  fakeLambdaDir,
  functionId,
  render,
  resourcesOfType,
  roleOfFunction,
  statements,
  synth,
} from './helpers';

/** What web/src/state.rs reads besides the dials. */
const WEB_ENV = [
  'PREVIEW_LINK_KEY_SECRET_ARN',
  'PREVIEW_ACCESS_CODE_SECRET_ARN',
  'PREVIEW_COOKIE_SECURE',
  'PREVIEW_GITHUB_API',
  'PREVIEW_GITHUB_WEBHOOK_SECRET_ARN',
  'PREVIEW_GITHUB_ALLOWED_USERS',
  'PREVIEW_GITHUB_TOKEN_SECRET_ARN',
  'PREVIEW_PUBLIC_URL',
];
/** What web/src/github_signin.rs reads (sign in with GitHub). */
const SIGNIN_ENV = [
  'PREVIEW_AUTH_MODE',
  'PREVIEW_GITHUB_CLIENT_ID',
  'PREVIEW_GITHUB_CLIENT_SECRET_ARN',
  'PREVIEW_GITHUB_ORGS',
  'PREVIEW_GITHUB_MAINTAINERS',
];
/** The PR-status function's settings besides the dials (it builds the web app's state). */
const PR_STATUS_ENV = [
  'PREVIEW_LINK_KEY_SECRET_ARN',
  'PREVIEW_ACCESS_CODE',
  'PREVIEW_AUTH_MODE',
  'PREVIEW_GITHUB_TOKEN_SECRET_ARN',
  'PREVIEW_PUBLIC_URL',
];

describe('stack', () => {
  const { template, json } = defaultStack();

  it('runs the reaper on an EventBridge schedule', () => {
    const rules = resourcesOfType(json, 'AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression);
    assert.equal(rules.length, 1);
    const [, rule] = rules[0];
    assert.equal(rule.Properties.ScheduleExpression, 'rate(5 minutes)');
    assert.equal(rule.Properties.State, 'ENABLED');
    assert.deepEqual(rule.Properties.Targets[0].Arn, { 'Fn::GetAtt': [functionId(json, 'reaper'), 'Arn'] });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [functionId(json, 'reaper'), 'Arn'] },
    });
    assert.equal(synth({ reaperIntervalMinutes: 10 }).json.Resources[rules[0][0]].Properties.ScheduleExpression, 'rate(10 minutes)');
  });

  it('opens only port 80 to previews', () => {
    const groups = resourcesOfType(json, 'AWS::EC2::SecurityGroup');
    assert.equal(groups.length, 1);
    const ingress = groups[0][1].Properties.SecurityGroupIngress;
    assert.ok(ingress.length >= 1);
    for (const rule of ingress) {
      assert.deepEqual([rule.IpProtocol, rule.FromPort, rule.ToPort], ['tcp', 80, 80]);
    }
    assert.deepEqual(resourcesOfType(json, 'AWS::EC2::SecurityGroupIngress'), []);
    const narrowed = synth({ allowedCidrs: ['192.0.2.0/24'] }).json;
    const [[, g]] = resourcesOfType(narrowed, 'AWS::EC2::SecurityGroup');
    assert.deepEqual(g.Properties.SecurityGroupIngress.map((r: any) => r.CidrIp), ['192.0.2.0/24']);
  });

  it('creates a VPC without NAT gateways by default, and none when given one', () => {
    assert.equal(resourcesOfType(json, 'AWS::EC2::VPC').length, 1);
    assert.equal(resourcesOfType(json, 'AWS::EC2::NatGateway').length, 0);
    const own = synth({ vpcId: 'vpc-0123456789abcdef0', subnetId: 'subnet-0123456789abcdef0' }).json;
    assert.equal(resourcesOfType(own, 'AWS::EC2::VPC').length, 0);
    const env = own.Resources[functionId(own, 'launch')].Properties.Environment.Variables;
    assert.equal(env.PREVIEW_SUBNET_ID, 'subnet-0123456789abcdef0');
    const run = statements(own).filter((s) => s.actions.includes('ec2:RunInstances')).flatMap((s) => s.resources);
    assert.ok(run.includes('arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-0123456789abcdef0'), 'RunInstances limited to the given subnet');
    assert.throws(() => synth({ vpcId: 'vpc-0123456789abcdef0' }), /both vpcId and subnetId/);
  });

  it('sets a retention on every log group', () => {
    const groups = resourcesOfType(json, 'AWS::Logs::LogGroup');
    // one per function (steps, web, pr-status), the previews' group, the state machine's
    assert.equal(groups.length, STEPS.length + 1 + OTHER_FUNCTIONS.length + 2);
    for (const [id, g] of groups) assert.equal(g.Properties.RetentionInDays, 30, id);
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/dspace-preview/dspace-preview' });
    assert.equal(synth({ logRetentionDays: 10 }).template.findResources('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 14 },
    }) !== undefined, true);
  });

  it('builds the functions from the cargo-lambda artifacts: provided.al2023, arm64, handler bootstrap', () => {
    const fns = resourcesOfType(json, 'AWS::Lambda::Function');
    const names = fns.map(([, f]) => f.Properties.FunctionName).sort();
    assert.deepEqual(names, [...STEPS.map((s) => `dspace-preview-${s.bin}`), 'dspace-preview-web', 'dspace-preview-pr-status'].sort());
    for (const [, f] of fns) {
      assert.equal(f.Properties.Runtime, 'provided.al2023');
      assert.deepEqual(f.Properties.Architectures, ['arm64']);
      assert.equal(f.Properties.Handler, 'bootstrap');
    }
    const x86 = synth({ lambdaArchitecture: 'x86_64' }).json;
    assert.deepEqual(x86.Resources[functionId(x86, 'launch')].Properties.Architectures, ['x86_64']);
  });

  it('names the same binaries as tasks/src/bin and the packaging script', () => {
    const bins = fs
      .readdirSync(path.join(REPO_ROOT, 'tasks', 'src', 'bin'))
      .filter((f) => f.endsWith('.rs'))
      .map((f) => f.replace(/\.rs$/, ''))
      .sort();
    assert.deepEqual(STEPS.map((s) => s.bin).sort(), bins);
    const script = fs.readFileSync(path.join(__dirname, '..', 'scripts', 'package-lambdas.sh'), 'utf8');
    for (const bin of [...bins, WEB_BIN, ...OTHER_FUNCTIONS.map((f) => f.bin)]) assert.ok(script.includes(bin), `package-lambdas.sh should mention ${bin}`);
  });

  it('passes only dials tasks/src/config.rs knows, as PREVIEW_* variables', () => {
    const stateRs = fs.readFileSync(path.join(REPO_ROOT, 'web', 'src', 'state.rs'), 'utf8');
    for (const key of WEB_ENV) {
      // `secret("PREVIEW_X")` reads PREVIEW_X_SECRET_ARN.
      const read = stateRs.includes(`"${key}"`) || stateRs.includes(`secret("${key.replace(/_SECRET_ARN$/, '')}")`);
      assert.ok(read, `web/src/state.rs does not read ${key}`);
    }
    const signinRs = fs.readFileSync(path.join(REPO_ROOT, 'web', 'src', 'github_signin.rs'), 'utf8');
    for (const key of SIGNIN_ENV) assert.ok(signinRs.includes(`"${key}"`), `web/src/github_signin.rs does not read ${key}`);
    const known = new Set(DIALS.map((d) => d.env));
    for (const [, f] of resourcesOfType(json, 'AWS::Lambda::Function')) {
      const env = f.Properties.Environment.Variables;
      const web = f.Properties.FunctionName === 'dspace-preview-web';
      const prStatus = f.Properties.FunctionName === 'dspace-preview-pr-status';
      for (const key of Object.keys(env)) {
        const ok =
          known.has(key) ||
          key === 'RUST_LOG' ||
          (web && (WEB_ENV.includes(key) || SIGNIN_ENV.includes(key))) ||
          (prStatus && PR_STATUS_ENV.includes(key));
        assert.ok(ok, `${f.Properties.FunctionName}: ${key} is neither a dial nor a web setting`);
      }
      assert.equal(env.PREVIEW_STACK, 'dspace-preview');
      assert.equal(env.PREVIEW_AMI_PARAMETER, '/dspace-preview/ami-id');
      assert.equal(render(env.PREVIEW_STATE_MACHINE_ARN), 'arn:aws:states:eu-west-1:111122223333:stateMachine:dspace-preview');
      assert.ok(env.PREVIEW_SECURITY_GROUP_IDS && env.PREVIEW_INSTANCE_PROFILE && env.PREVIEW_SUBNET_ID);
    }
    // The state machine ARN the functions get is the one CloudFormation creates.
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'dspace-preview' });
  });

  it('gives every step of lib/catalog.json a function, and no other', () => {
    assert.deepEqual(STEPS.map((s) => [s.bin, s.placeholder ?? null]), catalog.steps.map((s) => [s.bin, s.placeholder]));
    for (const key of RUNTIME_PARAMETER_KEYS) assert.ok(DIALS.some((d) => d.key === key && d.runTime), key);
  });

  it('writes the steps\' own defaults for the run-time dials when the props set none', () => {
    const config = resourcesOfType(json, 'AWS::SSM::Parameter')
      .map(([, p]) => p.Properties)
      .filter((p) => p.Name.startsWith('/dspace-preview/dspace-preview/config/'));
    for (const p of config) {
      const key = p.Name.split('/').pop();
      assert.equal(p.Value, DIALS.find((d) => d.key === key)?.default, key);
    }
  });

  it('writes only run-time dials under /dspace-preview/<deployment>/config/', () => {
    const runtime = new Set(DIALS.filter((d) => d.runTime).map((d) => d.key));
    const params = resourcesOfType(json, 'AWS::SSM::Parameter').map(([, p]) => p.Properties);
    const config = params.filter((p) => p.Name.startsWith('/dspace-preview/dspace-preview/config/'));
    assert.equal(config.length, RUNTIME_PARAMETER_KEYS.length);
    const values: Record<string, string> = {};
    for (const p of config) {
      const key = p.Name.split('/').pop();
      assert.ok(runtime.has(key), `${p.Name}: '${key}' is not a run-time dial; every step would ignore it`);
      values[key] = p.Value;
    }
    assert.deepEqual(values, {
      'max-live': '3',
      'instance-type': 'm7i.xlarge',
      'default-ttl-minutes': '120',
      'max-lifetime-minutes': '480',
      'health-deadline-minutes': '90',
      'use-spot': 'false',
    });
    const tuned = synth({ maxLive: 5, instanceType: 't3.xlarge', useSpot: true }).template;
    tuned.hasResourceProperties('AWS::SSM::Parameter', { Name: '/dspace-preview/dspace-preview/config/max-live', Value: '5' });
    tuned.hasResourceProperties('AWS::SSM::Parameter', { Name: '/dspace-preview/dspace-preview/config/use-spot', Value: 'true' });
    tuned.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PREVIEW_INSTANCE_TYPE: 't3.xlarge' }) },
    });
  });

  it('checks the dials before deploying', () => {
    assert.throws(() => synth({ minTtlMinutes: 200 }), /minTtlMinutes/);
    assert.throws(() => synth({ maxLive: 0 }), /maxLive/);
    assert.throws(() => synth({ instanceType: 'large' }), /instance type/);
    assert.throws(() => synth({ deployment: 'Bad_Name' }), /deployment/);
    assert.throws(() => synth({ amiId: 'not-an-ami' }), /AMI id/);
  });

  it('names everything after the deployment', () => {
    const { json: other, template: t } = synth({ deployment: 'staging' });
    assert.ok(functionId(other, 'launch', 'staging'));
    t.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'dspace-preview-staging-launch' });
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'dspace-preview-staging' });
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/dspace-preview/staging' });
    const env = other.Resources[functionId(other, 'reaper', 'staging')].Properties.Environment.Variables;
    assert.equal(env.PREVIEW_STACK, 'staging');
    assert.equal(render(env.PREVIEW_STATE_MACHINE_ARN), 'arn:aws:states:eu-west-1:111122223333:stateMachine:dspace-preview-staging');
    const run = statements(other).find((s) => s.actions.includes('ec2:TerminateInstances'))!;
    assert.equal(run.condition?.StringEquals?.['ec2:ResourceTag/dspace-preview:stack'], 'staging');
    const names = resourcesOfType(other, 'AWS::SSM::Parameter').map(([, p]) => p.Properties.Name);
    for (const n of names) assert.match(n, /^\/dspace-preview\/staging\/config\//);
  });

  it('serves the web app from a Function URL and outputs its URL', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [functionId(json, 'web'), 'Arn'] },
    });
    assert.ok(json.Outputs.WebUrl, 'WebUrl output');
    const [[urlId]] = resourcesOfType(json, 'AWS::Lambda::Url');
    assert.deepEqual(json.Outputs.WebUrl.Value, { 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
    for (const o of ['StateMachineArn', 'PreviewLogGroup', 'AmiParameter', 'ConfigPath']) assert.ok(json.Outputs[o], o);
  });

  it("outputs the GitHub webhook's URL: the web URL + github/webhook, the path web/src/routes/webhook.rs serves", () => {
    const [[urlId]] = resourcesOfType(json, 'AWS::Lambda::Url');
    const known = { [`${urlId}.FunctionUrl`]: 'https://abc.lambda-url.eu-west-1.on.aws/' };
    assert.equal(render(json.Outputs.GitHubWebhookUrl.Value, known), 'https://abc.lambda-url.eu-west-1.on.aws/github/webhook');
    assert.deepEqual(json.Outputs.GitHubWebhookUrl.Value, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [urlId, 'FunctionUrl'] }, 'github/webhook']] });
    const routes = fs.readFileSync(path.join(REPO_ROOT, 'web', 'src', 'routes', 'webhook.rs'), 'utf8');
    assert.match(routes, /\.route\("\/github\/webhook", post\(/);
    const domain = synth({ domainName: 'previews.example.org', certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/abc' }).json;
    assert.equal(domain.Outputs.GitHubWebhookUrl.Value, 'https://previews.example.org/github/webhook');
    assert.deepEqual(json.Outputs.GitHubWebhookSecret.Value, 'dspace-preview/web/github-webhook-secret');
  });

  it('passes the GitHub logins the webhook acts for, none by default, and checks them', () => {
    const allowed = (j: any) => j.Resources[functionId(j, 'web')].Properties.Environment.Variables.PREVIEW_GITHUB_ALLOWED_USERS;
    assert.equal(allowed(json), '', 'acts for nobody by default');
    assert.equal(allowed(synth({ githubAllowedUsers: ['octocat', ' @Mona-Lisa ', 'octocat', ''] }).json), 'octocat,Mona-Lisa');
    for (const bad of ['octo cat', 'a,b', '-octocat', 'octo--cat', 'octocat-', 'x'.repeat(40), 'octo/cat']) {
      assert.throws(() => synth({ githubAllowedUsers: [bad] }), /githubAllowedUsers: .* is not a GitHub login/, bad);
    }
    assert.doesNotThrow(() => synth({ githubAllowedUsers: ['x'.repeat(39), 'a-b-c', '0'] }));
  });

  it('gives the web app only the ARNs of its five secrets, and lets it read exactly those', () => {
    const webId = functionId(json, 'web');
    const env = json.Resources[webId].Properties.Environment.Variables;
    assert.equal(env.PREVIEW_COOKIE_SECURE, 'true');
    const secrets = new Map(resourcesOfType(json, 'AWS::SecretsManager::Secret').map(([id, r]) => [r.Properties.Name, { id, r }]));
    assert.deepEqual([...secrets.keys()].sort(), [
      'dspace-preview/web/access-code',
      'dspace-preview/web/github-client-secret',
      'dspace-preview/web/github-token',
      'dspace-preview/web/github-webhook-secret',
      'dspace-preview/web/link-key',
    ]);
    const clientSecret = secrets.get('dspace-preview/web/github-client-secret')!;
    const token = secrets.get('dspace-preview/web/github-token')!;
    const linkKey = secrets.get('dspace-preview/web/link-key')!;
    const accessCode = secrets.get('dspace-preview/web/access-code')!;
    const webhook = secrets.get('dspace-preview/web/github-webhook-secret')!;
    // Generated by Secrets Manager: the link key has at least the signer's 32 bytes.
    assert.ok(linkKey.r.Properties.GenerateSecretString.PasswordLength >= 32);
    assert.ok(accessCode.r.Properties.GenerateSecretString.PasswordLength >= 16);
    assert.ok(webhook.r.Properties.GenerateSecretString.PasswordLength >= 32);
    // Deleted with the stack, like the other two.
    for (const { id } of secrets.values()) assert.equal(json.Resources[id].DeletionPolicy, 'Delete', id);
    // No value in the template; the token's blank placeholder (no token) is not a secret.
    for (const [name, { r }] of secrets) assert.equal(r.Properties.SecretString, name.endsWith('/github-token') ? ' ' : undefined, name);
    assert.deepEqual(env.PREVIEW_LINK_KEY_SECRET_ARN, { Ref: linkKey.id });
    assert.deepEqual(env.PREVIEW_ACCESS_CODE_SECRET_ARN, { Ref: accessCode.id });
    assert.deepEqual(env.PREVIEW_GITHUB_WEBHOOK_SECRET_ARN, { Ref: webhook.id });
    // No value, and no deploy-time reference that would put the value into the function's configuration.
    for (const [, f] of resourcesOfType(json, 'AWS::Lambda::Function')) {
      const env = f.Properties.Environment.Variables;
      for (const key of ['PREVIEW_LINK_KEY', 'PREVIEW_GITHUB_WEBHOOK_SECRET', 'PREVIEW_GITHUB_CLIENT_SECRET', 'PREVIEW_GITHUB_TOKEN']) assert.equal(env[key], undefined, key);
      // The PR-status function checks no sign-in: a fixed public stand-in, never the code.
      const code = f.Properties.FunctionName === 'dspace-preview-pr-status' ? PR_STATUS_ACCESS_CODE : undefined;
      assert.equal(env.PREVIEW_ACCESS_CODE, code, `${f.Properties.FunctionName}: PREVIEW_ACCESS_CODE`);
    }
    assert.doesNotMatch(JSON.stringify(json), /resolve:secretsmanager/);
    assert.deepEqual(json.Outputs.AccessCodeSecret.Value, 'dspace-preview/web/access-code');

    assert.deepEqual(env.PREVIEW_GITHUB_CLIENT_SECRET_ARN, { Ref: clientSecret.id });
    assert.deepEqual(env.PREVIEW_GITHUB_TOKEN_SECRET_ARN, { Ref: token.id });

    // The web app's one statement; the PR-status function's own (test/github.test.ts).
    const webRole = roleOfFunction(json, webId);
    const reads = statements(json).filter((s) => s.actions.some((a) => a.startsWith('secretsmanager:')) && s.roles.includes(webRole));
    assert.equal(reads.length, 1);
    assert.deepEqual(reads[0].roles, [webRole]);
    assert.deepEqual(reads[0].actions, ['secretsmanager:GetSecretValue']);
    assert.deepEqual(
      reads[0].resources.sort(),
      [linkKey, accessCode, webhook, clientSecret, token].map(({ id }) => `<<Ref:${id}>>`).sort(),
    );
  });

  it('reserves concurrency for terminate and the reaper, and caps the web app at webConcurrency', () => {
    const reserved = (j: any, bin: string) => j.Resources[functionId(j, bin)].Properties.ReservedConcurrentExecutions;
    assert.equal(reserved(json, 'terminate'), 5);
    assert.equal(reserved(json, 'reaper'), 2);
    assert.equal(reserved(json, 'web'), 20);
    for (const { bin } of STEPS.filter((x) => !['terminate', 'reaper'].includes(x.bin))) assert.equal(reserved(json, bin), undefined, bin);
    assert.equal(reserved(synth({ webConcurrency: 50 }).json, 'web'), 50);
    for (const bad of [0, 1001, 2.5]) assert.throws(() => synth({ webConcurrency: bad }), /webConcurrency must be a whole number from 1 to 1000/);
  });

  it('puts CloudFront and a custom domain in front when asked', () => {
    const { template: t, json: j } = synth({
      domainName: 'previews.example.org',
      certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/abc',
      hostedZoneId: 'Z0123456789ABCDEFGHIJ',
      hostedZoneName: 'example.org',
    });
    t.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ Aliases: ['previews.example.org'] }),
    });
    t.resourceCountIs('AWS::Route53::RecordSet', 2);
    assert.equal(j.Outputs.WebUrl.Value, 'https://previews.example.org/');
    assert.throws(() => synth({ domainName: 'x.example.org' }), /certificateArn/);
  });

  it('leaves the web app out when told to, and then needs no web zip', () => {
    const dir = fakeLambdaDir(STEPS.map((s) => s.bin));
    const { json: j } = synth({ web: false, lambdaDir: dir });
    assert.equal(resourcesOfType(j, 'AWS::Lambda::Url').length, 0);
    assert.equal(j.Outputs.WebUrl, undefined);
    assert.equal(j.Outputs.GitHubWebhookUrl, undefined);
    assert.equal(resourcesOfType(j, 'AWS::SecretsManager::Secret').length, 0);
    assert.throws(() => synth({ lambdaDir: dir }), /dspace-preview-web.*package-lambdas\.sh/s);
  });

  it('synthesizes every variant without warnings', () => {
    const variants: Parameters<typeof synth>[0][] = [
      {},
      { vpcId: 'vpc-0123456789abcdef0', subnetId: 'subnet-0123456789abcdef0', allowedCidrs: ['192.0.2.0/24', '2001:db8::/32'] },
      { amiId: 'ami-0123456789abcdef0', useSpot: true, alarmEmail: 'ops@example.org', lambdaArchitecture: 'x86_64' },
      {
        domainName: 'previews.example.org',
        certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/abc',
        hostedZoneId: 'Z0123456789ABCDEFGHIJ',
        hostedZoneName: 'example.org',
      },
    ];
    for (const props of variants) {
      const { stack } = synth(props);
      const found = Annotations.fromStack(stack).findWarning('*', Match.anyValue());
      assert.deepEqual(found.map((w) => `${w.id}: ${w.entry.data}`), [], JSON.stringify(props));
      assert.deepEqual(Annotations.fromStack(stack).findError('*', Match.anyValue()), []);
    }
  });

  it('counts ignored run-time dials in the log of every function', () => {
    // The text the Rust side logs; if it changes there, the filter would silently stop matching.
    assert.ok(fs.readFileSync(path.join(REPO_ROOT, 'tasks', 'src', 'config.rs'), 'utf8').includes(`"${IGNORED_DIAL_LOG}"`));
    const filters = resourcesOfType(json, 'AWS::Logs::MetricFilter').map(([, f]) => f.Properties);
    const functionLogs = resourcesOfType(json, 'AWS::Lambda::Function').map(([, f]) => f.Properties.LoggingConfig.LogGroup.Ref);
    assert.deepEqual(filters.map((f) => f.LogGroupName.Ref).sort(), functionLogs.sort(), 'one filter per function log group');
    assert.equal(filters.length, STEPS.length + 1 + OTHER_FUNCTIONS.length, 'the steps, the reaper, the web app and pr-status');
    for (const f of filters) {
      assert.equal(f.FilterPattern, '"run-time dial ignored"');
      assert.deepEqual(f.MetricTransformations, [
        { MetricNamespace: 'DSpacePreview', MetricName: 'IgnoredRuntimeDials', MetricValue: '1' },
      ]);
    }
  });

  it('alarms on failed executions, reaper errors and ignored run-time dials, by e-mail when given', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'DSpacePreview',
      MetricName: 'IgnoredRuntimeDials',
      Dimensions: Match.absent(),
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'failed + timedOut' })]),
    });
    template.resourceCountIs('AWS::SNS::Topic', 0);
    const mailed = synth({ alarmEmail: 'ops@example.org' }).template;
    mailed.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.org' });
    const [[topicId]] = resourcesOfType(mailed.toJSON(), 'AWS::SNS::Topic');
    const alarms = resourcesOfType(mailed.toJSON(), 'AWS::CloudWatch::Alarm');
    assert.equal(alarms.length, 3);
    for (const [id, a] of alarms) assert.deepEqual(a.Properties.AlarmActions, [{ Ref: topicId }], id);
  });

  it('stores a fixed AMI id as an aws:ec2:image parameter when given', () => {
    const { template: t, json: j } = synth({ amiId: 'ami-0123456789abcdef0' });
    t.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/dspace-preview/dspace-preview/ami-id',
      DataType: 'aws:ec2:image',
      Value: 'ami-0123456789abcdef0',
    });
    const env = j.Resources[functionId(j, 'launch')].Properties.Environment.Variables;
    assert.equal(env.PREVIEW_AMI_PARAMETER, '/dspace-preview/dspace-preview/ami-id');
  });
});
