import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { OTHER_FUNCTIONS, STEPS } from '../lib/catalog';
import { CDK_DIR, fakeLambdaDir } from './helpers';

/** The environment of a machine with no AWS account: no credentials, no profile, no IMDS. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('CDK_')) env[k] = v;
  return {
    ...env,
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

function cdk(args: string[]) {
  const bin = path.join(CDK_DIR, 'node_modules', '.bin', 'cdk');
  return spawnSync(bin, [...args, '--no-notices'], { cwd: CDK_DIR, env: offlineEnv(), encoding: 'utf8', timeout: 180_000 });
}

describe('cdk synth (the CLI, offline, no credentials)', () => {
  it('synthesizes the app', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dspace-preview-synth-'));
    const r = cdk(['synth', '--quiet', '-c', `lambdaDir=${fakeLambdaDir()}`, '-o', out]);
    assert.equal(r.status, 0, `cdk synth failed:\n${r.stdout}\n${r.stderr}`);
    const template = JSON.parse(fs.readFileSync(path.join(out, 'DspacePreview.template.json'), 'utf8'));
    const types = Object.values(template.Resources as Record<string, any>).map((x) => x.Type);
    assert.ok(types.includes('AWS::StepFunctions::StateMachine'));
    assert.equal(types.filter((t) => t === 'AWS::Lambda::Function').length, STEPS.length + 1 + OTHER_FUNCTIONS.length, 'the steps, the reaper, the web app and pr-status');
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    assert.ok(manifest.artifacts.DspacePreview, 'stack artifact in the cloud assembly');
  });

  it('takes settings as context values', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dspace-preview-synth-'));
    const r = cdk([
      'synth', '--quiet', '-o', out,
      '-c', `lambdaDir=${fakeLambdaDir()}`,
      '-c', 'deployment=staging', '-c', 'maxLive=5', '-c', 'useSpot=true', '-c', 'allowedCidrs=192.0.2.0/24,198.51.100.0/24',
      '-c', 'buildCacheDays=7', '-c', 'githubAllowedUsers=octocat, mona-lisa',
      '-c', 'githubClientId=Iv23liAbCdEf01234567', '-c', 'githubOrgs=DSpace, DSpace/dspace-committers', '-c', 'githubMaintainers=tdonohue',
    ]);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    assert.equal(manifest.artifacts.DspacePreview.properties.stackName, 'dspace-preview-staging');
    const template = JSON.parse(fs.readFileSync(path.join(out, 'DspacePreview.template.json'), 'utf8'));
    const params = Object.values(template.Resources as Record<string, any>).filter((x) => x.Type === 'AWS::SSM::Parameter');
    const maxLive = params.find((p) => p.Properties.Name === '/dspace-preview/staging/config/max-live');
    assert.equal(maxLive?.Properties.Value, '5');
    const cache = Object.values(template.Resources as Record<string, any>).find((x) => x.Type === 'AWS::ECR::Repository');
    assert.equal(cache?.Properties.RepositoryName, 'dspace-preview-staging/preview-cache');
    assert.equal(JSON.parse(cache.Properties.LifecyclePolicy.LifecyclePolicyText).rules[0].selection.countNumber, 7);
    const web = Object.values(template.Resources as Record<string, any>).find(
      (x) => x.Type === 'AWS::Lambda::Function' && x.Properties.FunctionName === 'dspace-preview-staging-web',
    );
    const env = web?.Properties.Environment.Variables;
    assert.equal(env.PREVIEW_GITHUB_ALLOWED_USERS, 'octocat,mona-lisa');
    assert.equal(env.PREVIEW_AUTH_MODE, 'github');
    assert.equal(env.PREVIEW_GITHUB_CLIENT_ID, 'Iv23liAbCdEf01234567');
    assert.equal(env.PREVIEW_GITHUB_ORGS, 'DSpace,DSpace/dspace-committers');
    assert.equal(env.PREVIEW_GITHUB_MAINTAINERS, 'tdonohue');
    for (const output of ['GitHubOAuthCallbackUrl', 'GitHubWebhookUrl', 'GitHubWebhookSecret', 'GitHubClientSecret', 'GitHubTokenSecret']) {
      assert.ok(template.Outputs[output], output);
    }
    assert.equal(template.Outputs.GitHubTokenSecret.Value, 'dspace-preview-staging/web/github-token');
    assert.equal(template.Outputs.GitHubClientSecret.Value, 'dspace-preview-staging/web/github-client-secret');
  });

  it('fails with the packaging command in the message when the zips are missing', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'dspace-preview-empty-'));
    const r = cdk(['synth', '--quiet', '-c', `lambdaDir=${empty}`, '-o', fs.mkdtempSync(path.join(os.tmpdir(), 'x-'))]);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /package-lambdas\.sh/);
  });

  it('refuses an access code given as context (it would land in the template), naming the secret to put it in', () => {
    const r = cdk(['synth', '--quiet', '-c', `lambdaDir=${fakeLambdaDir()}`, '-c', 'deployment=staging', '-c', 'accessCode=dspace-testers-2026', '-o', fs.mkdtempSync(path.join(os.tmpdir(), 'x-'))]);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /aws secretsmanager put-secret-value --secret-id dspace-preview-staging\/web\/access-code/);
  });

  it('rejects malformed context values', () => {
    const r = cdk(['synth', '--quiet', '-c', `lambdaDir=${fakeLambdaDir()}`, '-c', 'maxLive=three', '-o', fs.mkdtempSync(path.join(os.tmpdir(), 'x-'))]);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /maxLive: expected a number/);
  });
});
