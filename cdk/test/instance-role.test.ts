/**
 * The preview instances run untrusted pull-request code: their role, and who may write the
 * parameter that shows a preview's admin password.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  Statement,
  actionMatches,
  allows,
  arnMatches,
  defaultStack,
  functionId,
  granting,
  instanceRoleId,
  roleOfFunction,
  statements,
  synth,
  BUILD_CACHE_ACTIONS,
  SSM_AGENT_ACTIONS,
} from './helpers';

const D = 'dspace-preview';
const ACCOUNT = 'arn:aws:ssm:eu-west-1:111122223333';
const parameterArn = (name: string, deployment = D) => `${ACCOUNT}:parameter/dspace-preview/${deployment}/${name}`;
const ID = 'dsp-b9876-202611281930-0001';

const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const ECR_LOGIN = 'ecr:GetAuthorizationToken';
const BUILD_CACHE_ARN = 'arn:aws:ecr:eu-west-1:111122223333:repository/dspace-preview/preview-cache';

/** Parameter actions the instance must never be allowed (and is explicitly denied). */
const PARAMETER_READS = ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:GetParameterHistory'];
const PARAMETER_WRITES = ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:DeleteParameters', 'ssm:LabelParameterVersion'];

/** Is `action` on `arn` denied by any of these statements? */
function denies(list: Statement[], action: string, arn: string): boolean {
  return list.some(
    (s) =>
      s.effect === 'Deny' &&
      s.condition === undefined &&
      s.actions.some((a) => actionMatches(a, action)) &&
      s.resources.some((r) => arnMatches(r, arn)),
  );
}

describe('instance role (untrusted code on the instance)', () => {
  const { json } = defaultStack();
  const all = statements(json);
  const roleId = instanceRoleId(json);
  const role = json.Resources[roleId];
  const own = all.filter((s) => s.roles.includes(roleId));
  const allowed = own.filter((s) => s.effect === 'Allow');

  it('is assumed by EC2 only and has no managed policy (no AmazonSSMManagedInstanceCore)', () => {
    assert.deepEqual(role.Properties.AssumeRolePolicyDocument.Statement, [
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' } },
    ]);
    assert.equal(role.Properties.ManagedPolicyArns, undefined);
    assert.doesNotMatch(JSON.stringify(json), /AmazonSSMManagedInstanceCore/);
  });

  it('allows exactly what the SSM agent needs for Run Command and sessions, two log writes and the build cache', () => {
    const actions = allowed.flatMap((s) => s.actions).sort();
    assert.deepEqual(actions, [...SSM_AGENT_ACTIONS, ...LOG_ACTIONS, ECR_LOGIN, ...BUILD_CACHE_ACTIONS].sort());
    for (const s of allowed) {
      assert.ok(s.sid, `every statement has a Sid: ${JSON.stringify(s.actions)}`);
      assert.equal(s.condition, undefined, `${s.sid}: no condition needed`);
      for (const a of s.actions) assert.doesNotMatch(a, /\*/, `${s.sid}: ${a}`);
    }
    // Resource "*" only for the agent's actions and the registry login, which IAM cannot scope.
    for (const s of allowed.filter((x) => x.resources.includes('*'))) {
      for (const a of s.actions) assert.ok([...SSM_AGENT_ACTIONS, ECR_LOGIN].includes(a), `${s.sid}: ${a} on *`);
    }
  });

  it('logs in to ECR, and pulls and pushes only in the build cache: no delete, no other repository', () => {
    const ecr = allowed.filter((s) => s.actions.some((a) => a.startsWith('ecr:')));
    assert.deepEqual(
      ecr.map((s) => ({ sid: s.sid, actions: [...s.actions].sort(), resources: s.resources })),
      [
        { sid: 'BuildCacheLogin', actions: [ECR_LOGIN], resources: ['*'] },
        { sid: 'BuildCachePullAndPush', actions: BUILD_CACHE_ACTIONS, resources: [BUILD_CACHE_ARN] },
      ],
    );
    const other = (name: string) => `arn:aws:ecr:eu-west-1:111122223333:repository/${name}`;
    for (const action of BUILD_CACHE_ACTIONS) {
      assert.ok(allows(own, action, BUILD_CACHE_ARN).length > 0, `${action} in the cache`);
      for (const name of ['dspace-preview/other', 'dspace-preview-staging/preview-cache', 'dspace-preview/preview-cache-x']) {
        assert.deepEqual(allows(own, action, other(name)), [], `${action} in ${name}`);
      }
    }
    // The lifecycle rule expires images; immutable tags keep a pushed build from being replaced.
    for (const action of ['ecr:BatchDeleteImage', 'ecr:DeleteRepository', 'ecr:PutLifecyclePolicy', 'ecr:SetRepositoryPolicy', 'ecr:PutImageTagMutability', 'ecr:DescribeImages', 'ecr:ListImages']) {
      assert.deepEqual(granting(own, action), [], `instance may ${action}`);
    }
  });

  it('allows no parameter read or write, no KMS, no IAM, no EC2 call', () => {
    for (const action of [...PARAMETER_READS, ...PARAMETER_WRITES, 'ssm:DescribeParameters', 'ssm:SendCommand']) {
      assert.deepEqual(granting(own, action), [], `instance may ${action}`);
    }
    for (const s of allowed) {
      for (const a of s.actions) {
        assert.doesNotMatch(a, /^(kms|iam|ec2|sts|s3|secretsmanager|states|lambda):/i, `${s.sid}: ${a}`);
        if (a.startsWith('ssm:')) assert.equal(a, 'ssm:UpdateInstanceInformation', `${s.sid}: ${a}`);
      }
    }
  });

  it('denies every parameter read and write on "*", without a condition', () => {
    const arns = [
      parameterArn(`previews/${ID}/admin-password`),
      parameterArn(`previews/${ID}/task-token`),
      parameterArn('slots/1'),
      parameterArn('config/max-live'),
      `${ACCOUNT}:parameter/dspace-preview/ami-id`,
      `${ACCOUNT}:parameter/some/other/application`,
    ];
    for (const action of [...PARAMETER_READS, ...PARAMETER_WRITES]) {
      for (const arn of arns) assert.ok(denies(own, action, arn), `${action} on ${arn} is not denied`);
    }
    const reads = own.find((s) => s.effect === 'Deny' && s.actions.includes('ssm:GetParameter*'));
    assert.ok(reads, 'a Deny on ssm:GetParameter* (covers any GetParameter* action added later)');
    assert.deepEqual(reads.resources, ['*']);
    for (const s of own.filter((x) => x.effect === 'Deny')) assert.ok(s.sid, 'every Deny has a Sid');
  });

  it("writes only to the previews' log group's streams, without DescribeLogStreams or CreateLogGroup", () => {
    const logs = allowed.filter((s) => s.actions.some((a) => a.startsWith('logs:')));
    assert.equal(logs.length, 1);
    assert.deepEqual([...logs[0].actions].sort(), LOG_ACTIONS);
    assert.deepEqual(logs[0].resources, [`arn:aws:logs:eu-west-1:111122223333:log-group:/dspace-preview/${D}:log-stream:*`]);
    const stream = (group: string, name: string) => `arn:aws:logs:eu-west-1:111122223333:log-group:${group}:log-stream:${name}`;
    for (const action of LOG_ACTIONS) {
      assert.ok(allows(own, action, stream(`/dspace-preview/${D}`, `${ID}/boot`)).length > 0, `${action} on its boot stream`);
      assert.ok(allows(own, action, stream(`/dspace-preview/${D}`, `${ID}/dspace`)).length > 0, `${action} on a container stream`);
      // Not another deployment's group (a prefix of this one's name included), nor a function's.
      for (const group of [`/dspace-preview/${D}-other`, '/dspace-preview/staging', `/aws/lambda/${D}-launch`]) {
        assert.deepEqual(allows(own, action, stream(group, `${ID}/boot`)), [], `${action} in ${group}`);
      }
    }
    for (const action of ['logs:DescribeLogStreams', 'logs:CreateLogGroup', 'logs:DeleteLogStream', 'logs:GetLogEvents', 'logs:FilterLogEvents']) {
      assert.deepEqual(granting(own, action), [], `instance may ${action}`);
    }
  });

  it('follows the deployment name', () => {
    const { json: staging } = synth({ deployment: 'staging' });
    const stagingRole = instanceRoleId(staging);
    const logs = statements(staging).filter((s) => s.roles.includes(stagingRole) && s.actions.includes('logs:PutLogEvents'));
    assert.deepEqual(logs.flatMap((s) => s.resources), [
      'arn:aws:logs:eu-west-1:111122223333:log-group:/dspace-preview/staging:log-stream:*',
    ]);
  });
});

describe("the admin password parameter (written by launch, not by the instance)", () => {
  const { json } = defaultStack();
  const all = statements(json);
  const launchRole = roleOfFunction(json, functionId(json, 'launch'));
  const launch = all.filter((s) => s.roles.includes(launchRole));
  const adminPassword = parameterArn(`previews/${ID}/admin-password`);

  it('lets only the launch role put a preview admin password', () => {
    const writers = allows(all, 'ssm:PutParameter', adminPassword);
    assert.ok(writers.length > 0, 'launch must store it');
    assert.deepEqual([...new Set(writers.flatMap((s) => s.roles))], [launchRole]);
  });

  it("limits launch's PutParameter to …/previews/*/admin-password, and gives it no KMS", () => {
    const puts = granting(launch, 'ssm:PutParameter');
    assert.equal(puts.length, 1);
    assert.equal(puts[0].sid, 'StoreAdminPassword');
    // GetParameter too: a retried launch reuses the password it stored (PutParameter without overwrite).
    assert.deepEqual([...puts[0].actions].sort(), ['ssm:GetParameter', 'ssm:PutParameter']);
    assert.deepEqual(puts[0].resources, [parameterArn('previews/*/admin-password')]);
    for (const other of [`previews/${ID}/task-token`, `previews/${ID}`, 'slots/1', 'config/max-live', 'users/alice', 'ami-id']) {
      assert.deepEqual(allows(launch, 'ssm:PutParameter', parameterArn(other)), [], `launch may put ${other}`);
    }
    assert.deepEqual(allows(launch, 'ssm:PutParameter', parameterArn(`previews/${ID}/admin-password`, 'staging')), []);
    // SecureString with the AWS managed key aws/ssm: no kms: permission is needed, none is given.
    for (const s of launch) for (const a of s.actions) assert.doesNotMatch(a, /^kms:/, `${s.sid}: ${a}`);
    // Besides the admin passwords, launch reads only the AMI id: no task token, slot or user record.
    const reads = granting(launch, 'ssm:GetParameter').flatMap((s) => s.resources);
    assert.deepEqual(reads.sort(), [`${ACCOUNT}:parameter/dspace-preview/ami-id`, parameterArn('previews/*/admin-password')].sort());
    for (const action of ['ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:DeleteParameter', 'ssm:DeleteParameters']) {
      assert.deepEqual(allows(launch, action, adminPassword), [], `launch may ${action} the password`);
    }
  });

  it('lets terminate and the reaper find and delete it with the rest of the preview', () => {
    for (const bin of ['terminate', 'reaper']) {
      const own = all.filter((s) => s.roles.includes(roleOfFunction(json, functionId(json, bin))));
      assert.ok(allows(own, 'ssm:GetParametersByPath', parameterArn(`previews/${ID}`)).length > 0, `${bin}: list the preview's parameters`);
      assert.ok(allows(own, 'ssm:DeleteParameters', adminPassword).length > 0, `${bin}: delete the admin password`);
    }
  });
});
