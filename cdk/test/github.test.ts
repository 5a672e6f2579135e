/**
 * The GitHub integration (issue 12): sign in with GitHub (the web app's settings, the client
 * secret), the PR-status function (its code, settings, least privilege and its two triggers:
 * AnnounceReady and the execution status changes) and the outputs the GitHub App is set up with.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { DIALS, OTHER_FUNCTIONS, PR_STATUS, STEPS, checkOtherCrateFunctions } from '../lib/catalog';
import { PR_STATUS_ACCESS_CODE } from '../lib/constructs/web';
// prettier-ignore
import { REPO_ROOT, defaultStack, fakeLambdaDir, functionId, render, resourcesOfType, roleOfFunction, statements, statementsOf, synth } from './helpers';

const D = 'dspace-preview';
const EXECUTIONS = `arn:aws:states:eu-west-1:111122223333:execution:${D}:*`;
const STATE_MACHINE = `arn:aws:states:eu-west-1:111122223333:stateMachine:${D}`;
const DOMAIN = { domainName: 'previews.example.org', certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/abc' };
const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
const envOf = (json: any, name: string) => json.Resources[functionId(json, name)].Properties.Environment.Variables;
/** Secrets by name: { id, r }. */
const secretsOf = (json: any) => new Map(resourcesOfType(json, 'AWS::SecretsManager::Secret').map(([id, r]) => [r.Properties.Name, { id, r }]));
/** The Function URL's value, as CloudFormation would give it. */
const functionUrl = (json: any) => {
  const [[urlId]] = resourcesOfType(json, 'AWS::Lambda::Url');
  return { [`${urlId}.FunctionUrl`]: 'https://abc.lambda-url.eu-west-1.on.aws/' };
};

describe("lib/catalog.json's otherCrateFunctions", () => {
  it('names the PR-status function, the web crate binary the Rust side ships', () => {
    assert.deepEqual(OTHER_FUNCTIONS.map((f) => [f.name, f.crate, f.bin, f.placeholder]), [
      ['pr-status', 'web', 'dspace-preview-pr-status', 'PrStatusFunctionArn'],
    ]);
    assert.ok(fs.existsSync(path.join(REPO_ROOT, 'web', 'src', 'bin', `${PR_STATUS.bin}.rs`)), 'web/src/bin/dspace-preview-pr-status.rs');
    const script = read('cdk/scripts/package-lambdas.sh');
    assert.match(script, /web_bins=\([^)]*\bdspace-preview-pr-status\b[^)]*\)/, 'package-lambdas.sh builds it with the web app');
  });

  it('refuses to load when it is malformed', () => {
    const good = { name: 'pr-status', placeholder: 'PrStatusFunctionArn', crate: 'web', binary: 'dspace-preview-pr-status' };
    assert.doesNotThrow(() => checkOtherCrateFunctions([good]));
    const bad: [unknown, RegExp][] = [
      [undefined, /expected a list/],
      [{ 'pr-status': good }, /expected a list/],
      [[{ ...good, binary: undefined }], /'binary' must be a non-empty string/],
      [[{ ...good, placeholder: '' }], /'placeholder' must be a non-empty string/],
      [[{ ...good, placeholder: '${PrStatusFunctionArn}' }], /placeholder/],
      [[{ ...good, crate: 'tasks' }], /crate 'tasks'/],
      [[{ ...good, binary: 'bin/../x' }], /not a binary name/],
      [[{ ...good, name: 'mystery' }], /'mystery', which lib\/catalog.ts gives no function/],
      [[], /'pr-status', which .* does not know/],
      [[good, good], /'pr-status' twice/],
    ];
    for (const [raw, message] of bad) assert.throws(() => checkOtherCrateFunctions(raw), message, JSON.stringify(raw));
  });
});

describe('the PR-status function', () => {
  const { json } = defaultStack();
  const id = functionId(json, 'pr-status');
  const fn = json.Resources[id].Properties;
  const secrets = secretsOf(json);
  const linkKey = secrets.get(`${D}/web/link-key`)!;
  const token = secrets.get(`${D}/web/github-token`)!;

  it('runs the web crate binary for a minute at most, five at once', () => {
    assert.equal(fn.FunctionName, `${D}-pr-status`);
    assert.equal(fn.Runtime, 'provided.al2023');
    assert.equal(fn.Handler, 'bootstrap');
    assert.equal(fn.Timeout, 60);
    assert.equal(fn.ReservedConcurrentExecutions, 5);
    const dir = fakeLambdaDir([...STEPS.map((s) => s.bin), 'dspace-preview-web']);
    assert.throws(() => synth({ lambdaDir: dir }), /dspace-preview-pr-status.*package-lambdas\.sh/s);
  });

  it("gets the web app's settings for reading executions and signing links, and no other secret", () => {
    const env = fn.Environment.Variables;
    const dials = new Set(DIALS.map((d) => d.env));
    const own = Object.keys(env).filter((k) => !dials.has(k) && k !== 'RUST_LOG').sort();
    assert.deepEqual(own, [
      'PREVIEW_ACCESS_CODE',
      'PREVIEW_AUTH_MODE',
      'PREVIEW_GITHUB_TOKEN_SECRET_ARN',
      'PREVIEW_LINK_KEY_SECRET_ARN',
      'PREVIEW_PUBLIC_URL',
    ]);
    // The same dials as the web app (state machine, lifetime, admin e-mail, ...).
    const web = envOf(json, 'web');
    for (const key of Object.keys(env).filter((k) => dials.has(k))) assert.deepEqual(env[key], web[key], key);
    assert.equal(render(env.PREVIEW_STATE_MACHINE_ARN), STATE_MACHINE);
    assert.deepEqual(env.PREVIEW_LINK_KEY_SECRET_ARN, web.PREVIEW_LINK_KEY_SECRET_ARN);
    assert.deepEqual(env.PREVIEW_GITHUB_TOKEN_SECRET_ARN, { Ref: token.id });
    // It checks no sign-in: a fixed public stand-in for the code, never the access-code secret.
    assert.equal(env.PREVIEW_ACCESS_CODE, PR_STATUS_ACCESS_CODE);
    assert.equal(env.PREVIEW_AUTH_MODE, 'access-code');
    // Links point at the web app: its Function URL, or the custom domain.
    assert.equal(render(env.PREVIEW_PUBLIC_URL, functionUrl(json)), 'https://abc.lambda-url.eu-west-1.on.aws/');
    assert.equal(envOf(synth(DOMAIN).json, 'pr-status').PREVIEW_PUBLIC_URL, 'https://previews.example.org/');
    // web/src/state.rs reads these (the link key through `secret("PREVIEW_LINK_KEY")`).
    const state = read('web/src/state.rs');
    for (const key of ['PREVIEW_GITHUB_TOKEN_SECRET_ARN', 'PREVIEW_PUBLIC_URL', 'PREVIEW_STATE_MACHINE_ARN']) assert.ok(state.includes(`"${key}"`), key);
    assert.match(state, /secret\("PREVIEW_LINK_KEY"\)/);
    assert.match(state, /secret\("PREVIEW_ACCESS_CODE"\)/);
    assert.match(read('web/src/github_signin.rs'), /env\("PREVIEW_AUTH_MODE"\)/);
    assert.match(read(`web/src/bin/${PR_STATUS.bin}.rs`), /AppState::from_env\(\)/);
  });

  it('reads our executions, the link key and the GitHub token, and nothing else', () => {
    const own = statementsOf(json, 'pr-status');
    assert.deepEqual(own.map((s) => s.sid).sort(), ['OwnLogGroup', 'ReadLinkKeyAndGitHubToken', 'ReadOurExecutions']);
    const by = (sid: string) => own.find((s) => s.sid === sid)!;
    assert.deepEqual(by('ReadOurExecutions').actions, ['states:DescribeExecution', 'states:GetExecutionHistory']);
    assert.deepEqual(by('ReadOurExecutions').resources, [EXECUTIONS]);
    assert.deepEqual(by('ReadLinkKeyAndGitHubToken').actions, ['secretsmanager:GetSecretValue']);
    assert.deepEqual(by('ReadLinkKeyAndGitHubToken').resources.sort(), [`<<Ref:${linkKey.id}>>`, `<<Ref:${token.id}>>`].sort());
    const logGroup = fn.LoggingConfig.LogGroup.Ref;
    assert.deepEqual(by('OwnLogGroup').resources, [`<<GetAtt:${logGroup}.Arn>>`]);
    for (const s of own) assert.ok(!s.resources.includes('*'), `${s.sid} on *`);
    const actions = own.flatMap((s) => s.actions);
    for (const a of actions) assert.doesNotMatch(a, /^(ec2|ssm|iam):|StartExecution|StopExecution|SendTask/, a);
  });

  it('is queued by AnnounceReady (lambda:invoke, InvocationType Event), which the state machine may invoke', () => {
    const [[, sm]] = resourcesOfType(json, 'AWS::StepFunctions::StateMachine');
    const definition = JSON.parse(render(sm.Properties.DefinitionString));
    const announce = definition.States.AnnounceReady;
    assert.equal(announce.Resource, 'arn:aws:states:::lambda:invoke');
    assert.equal(announce.Parameters.FunctionName, `<<GetAtt:${id}.Arn>>`);
    assert.equal(announce.Parameters.InvocationType, 'Event');
    assert.doesNotMatch(render(sm.Properties.DefinitionString), /\$\{(?!Token)/);
    const smRole = sm.Properties.RoleArn['Fn::GetAtt'][0];
    const invoke = statements(json).filter((s) => s.roles.includes(smRole) && s.actions.includes('lambda:InvokeFunction'));
    assert.ok(invoke.some((s) => s.resources.includes(`<<GetAtt:${id}.Arn>>`)), 'the state machine may invoke pr-status');
    // The source ASL queues it; the stack substituted the placeholder the catalog names.
    const source = JSON.parse(read('statemachine/preview.asl.json')).States.AnnounceReady;
    assert.equal(source.Parameters.FunctionName, `\${${PR_STATUS.placeholder}}`);
    assert.equal(source.Parameters.InvocationType, 'Event');
  });

  it('hears every status change of our executions, and the reaper still only their failures', () => {
    const rules = resourcesOfType(json, 'AWS::Events::Rule');
    const mine = rules.filter(([, r]) => r.Properties.Targets?.some((t: any) => t.Arn?.['Fn::GetAtt']?.[0] === id));
    assert.equal(mine.length, 1);
    const [[, rule]] = mine;
    const pattern = rule.Properties.EventPattern;
    assert.deepEqual(pattern.source, ['aws.states']);
    assert.deepEqual(pattern['detail-type'], ['Step Functions Execution Status Change']);
    assert.deepEqual(pattern.detail.stateMachineArn.map((a: any) => render(a)), [STATE_MACHINE]);
    assert.deepEqual(pattern.detail.status, ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);
    assert.deepEqual(Object.keys(pattern).sort(), ['detail', 'detail-type', 'source']);
    assert.equal(rule.Properties.State, 'ENABLED');
    // EventBridge may invoke it, for this rule only.
    const permissions = resourcesOfType(json, 'AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'events.amazonaws.com' && p.Properties.FunctionName?.['Fn::GetAtt']?.[0] === id);
    assert.equal(permissions.length, 1);
    // The reaper's rule on the same events: RUNNING (which the engine now emits too) never wakes it.
    const reaper = functionId(json, 'reaper');
    const reaperStates = rules
      .filter(([, r]) => r.Properties.EventPattern?.source?.[0] === 'aws.states' && r.Properties.Targets.some((t: any) => t.Arn?.['Fn::GetAtt']?.[0] === reaper))
      .map(([, r]) => r.Properties.EventPattern.detail.status);
    assert.deepEqual(reaperStates, [['FAILED', 'TIMED_OUT', 'ABORTED']]);
  });

  it('is left out with the web app, and AnnounceReady then passes its input on', () => {
    const { json: j } = synth({ web: false, lambdaDir: fakeLambdaDir(STEPS.map((s) => s.bin)) });
    assert.throws(() => functionId(j, 'pr-status'));
    const [[, sm]] = resourcesOfType(j, 'AWS::StepFunctions::StateMachine');
    const text = render(sm.Properties.DefinitionString);
    assert.doesNotMatch(text, /\$\{(?!Token)/);
    const announce = JSON.parse(text).States.AnnounceReady;
    assert.deepEqual(announce, { Type: 'Pass', Comment: announce.Comment, ResultPath: null, Next: 'AwaitExpiry' });
    assert.equal(resourcesOfType(j, 'AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern?.detail?.status?.includes('RUNNING')).length, 0);
  });
});

describe('sign in with GitHub', () => {
  const { json } = defaultStack();
  const secrets = secretsOf(json);
  const client = secrets.get(`${D}/web/github-client-secret`)!;
  const token = secrets.get(`${D}/web/github-token`)!;

  it('is off by default: the access code, no client id, no public URL (the Function URL is the Host)', () => {
    const env = envOf(json, 'web');
    assert.equal(env.PREVIEW_AUTH_MODE, 'access-code');
    assert.equal(env.PREVIEW_GITHUB_CLIENT_ID, undefined);
    assert.equal(env.PREVIEW_PUBLIC_URL, undefined);
    assert.equal(env.PREVIEW_GITHUB_ORGS, '');
    assert.equal(env.PREVIEW_GITHUB_MAINTAINERS, '');
    assert.deepEqual(env.PREVIEW_GITHUB_CLIENT_SECRET_ARN, { Ref: client.id });
    assert.deepEqual(env.PREVIEW_GITHUB_TOKEN_SECRET_ARN, { Ref: token.id });
  });

  it('takes the client id, orgs, teams and maintainers, and checks them', () => {
    const { json: j } = synth({
      ...DOMAIN,
      githubClientId: ' Iv23liAbCdEf01234567 ',
      githubOrgs: ['DSpace', ' DSpace/dspace-committers ', 'DSpace', ''],
      githubMaintainers: ['@tdonohue', 'octo-cat'],
    });
    const env = envOf(j, 'web');
    assert.equal(env.PREVIEW_AUTH_MODE, 'github');
    assert.equal(env.PREVIEW_GITHUB_CLIENT_ID, 'Iv23liAbCdEf01234567');
    assert.equal(env.PREVIEW_GITHUB_ORGS, 'DSpace,DSpace/dspace-committers');
    assert.equal(env.PREVIEW_GITHUB_MAINTAINERS, 'tdonohue,octo-cat');
    assert.equal(env.PREVIEW_PUBLIC_URL, 'https://previews.example.org');
    for (const bad of ['a/b/c', 'DSpace/', 'D Space', 'DSpace/team.x']) {
      assert.throws(() => synth({ githubOrgs: [bad] }), /githubOrgs: .* is neither an org nor org\/team-slug/, bad);
    }
    for (const bad of ['octo cat', '-x', 'a,b']) assert.throws(() => synth({ githubMaintainers: [bad] }), /githubMaintainers: .* is not a GitHub login/, bad);
    for (const bad of ['short', 'has space here', 'x'.repeat(70)]) assert.throws(() => synth({ githubClientId: bad }), /githubClientId/, bad);
    // The names web/src/github_signin.rs reads.
    const signin = read('web/src/github_signin.rs');
    for (const key of ['PREVIEW_GITHUB_CLIENT_ID', 'PREVIEW_GITHUB_CLIENT_SECRET_ARN', 'PREVIEW_PUBLIC_URL', 'PREVIEW_GITHUB_ORGS', 'PREVIEW_GITHUB_MAINTAINERS', 'PREVIEW_GITHUB_ALLOWED_USERS']) {
      assert.match(signin, new RegExp(`env\\("${key}"\\)|list\\("${key}"\\)`), key);
    }
  });

  it('keeps the client secret and the token in Secrets Manager, readable by exactly the functions that use them', () => {
    // The client secret: a random placeholder GitHub refuses, never in the template.
    assert.equal(client.r.Properties.SecretString, undefined);
    assert.ok(client.r.Properties.GenerateSecretString.PasswordLength >= 32);
    // The token: blank (no token, as before), which is no secret; the operator replaces it.
    assert.equal(token.r.Properties.SecretString, ' ');
    assert.equal(token.r.Properties.GenerateSecretString, undefined);
    for (const { id } of [client, token]) assert.equal(json.Resources[id].DeletionPolicy, 'Delete');
    const readers = (secretId: string) =>
      statements(json)
        .filter((s) => s.actions.includes('secretsmanager:GetSecretValue') && s.resources.includes(`<<Ref:${secretId}>>`))
        .flatMap((s) => s.roles)
        .sort();
    const role = (name: string) => roleOfFunction(json, functionId(json, name));
    assert.deepEqual(readers(client.id), [role('web')]);
    assert.deepEqual(readers(token.id), [role('pr-status'), role('web')].sort());
    for (const s of statements(json).filter((x) => x.actions.some((a) => a.startsWith('secretsmanager:')))) {
      assert.deepEqual(s.actions, ['secretsmanager:GetSecretValue'], s.sid);
    }
    assert.doesNotMatch(JSON.stringify(json), /resolve:secretsmanager/);
  });

  it('uses an existing token secret by name instead, without its value in the template', () => {
    const { json: j } = synth({ githubTokenSecretName: 'dspace-preview/github-token' });
    assert.equal(secretsOf(j).get(`${D}/web/github-token`), undefined);
    assert.equal(j.Outputs.GitHubTokenSecret, undefined);
    for (const name of ['web', 'pr-status']) {
      assert.equal(envOf(j, name).PREVIEW_GITHUB_TOKEN_SECRET_ARN, 'dspace-preview/github-token', name);
      assert.equal(envOf(j, name).PREVIEW_GITHUB_TOKEN, undefined, name);
      const reads = statementsOf(j, name).filter((s) => s.actions.includes('secretsmanager:GetSecretValue')).flatMap((s) => s.resources);
      assert.ok(reads.includes('arn:aws:secretsmanager:eu-west-1:111122223333:secret:dspace-preview/github-token-??????'), name);
    }
    assert.doesNotMatch(JSON.stringify(j), /resolve:secretsmanager/);
  });

  it('outputs the callback URL the GitHub App needs, and the secrets to put values in', () => {
    assert.equal(render(json.Outputs.GitHubOAuthCallbackUrl.Value, functionUrl(json)), 'https://abc.lambda-url.eu-west-1.on.aws/auth/github/callback');
    assert.equal(synth(DOMAIN).json.Outputs.GitHubOAuthCallbackUrl.Value, 'https://previews.example.org/auth/github/callback');
    assert.match(read('web/src/github_signin.rs'), /pub const CALLBACK_PATH: &str = "\/auth\/github\/callback";/);
    assert.equal(json.Outputs.GitHubClientSecret.Value, `${D}/web/github-client-secret`);
    assert.equal(json.Outputs.GitHubTokenSecret.Value, `${D}/web/github-token`);
  });
});
