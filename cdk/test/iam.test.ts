import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { MUTABLE_TAGS, OTHER_FUNCTIONS, STACK_TAG, STEPS } from '../lib/catalog';
import {
  defaultStack,
  functionId,
  granting,
  resourcesOfType,
  roleOfFunction,
  statements,
  statementsOf,
  synth,
  SSM_AGENT_ACTIONS,
} from './helpers';

const D = 'dspace-preview';

/**
 * Actions that may have Resource "*": IAM offers no resource-level permission for them.
 * The logs:*Delivery / resource-policy ones are what Step Functions logging needs (added by CDK).
 */
const UNSCOPABLE = new Set([
  'ec2:DescribeInstances',
  'ec2:DescribeImages',
  'ssm:GetCommandInvocation',
  'states:SendTaskSuccess',
  'states:SendTaskFailure',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
  // The instances' login to ECR (Docker's registry token); pulls and pushes are on the cache only.
  'ecr:GetAuthorizationToken',
  // The SSM agent on the preview instances (its registration and message channels).
  ...SSM_AGENT_ACTIONS,
]);

describe('IAM', () => {
  const { json } = defaultStack();
  const all = statements(json);

  it('grants ec2:TerminateInstances only on instances tagged with this deployment', () => {
    const found = granting(all, 'ec2:TerminateInstances');
    assert.ok(found.length > 0, 'terminate and the reaper need it');
    for (const s of found) {
      assert.ok(!s.resources.includes('*'), `${s.owner}/${s.sid}: TerminateInstances on *`);
      for (const r of s.resources) assert.match(r, /:instance\/\*$/, `${s.owner}/${s.sid}`);
      assert.equal(s.condition?.StringEquals?.[`ec2:ResourceTag/${STACK_TAG}`], D, `${s.owner}/${s.sid} lacks the tag condition`);
    }
    const owners = new Set(found.flatMap((s) => s.roles));
    const expected = ['terminate', 'reaper'].map((b) => roleOfFunction(json, functionId(json, b)));
    assert.deepEqual([...owners].sort(), expected.sort());
  });

  it('grants ec2:RunInstances only to launch, never on *, with tags required on what it creates', () => {
    const found = granting(all, 'ec2:RunInstances');
    const launchRole = roleOfFunction(json, functionId(json, 'launch'));
    for (const s of found) {
      assert.deepEqual(s.roles, [launchRole], `${s.owner}/${s.sid}: RunInstances outside launch`);
      assert.ok(!s.resources.includes('*'), `${s.owner}/${s.sid}: RunInstances on *`);
      for (const r of s.resources) {
        if (/:(instance|volume)\/\*$/.test(r)) {
          assert.equal(s.condition?.StringEquals?.[`aws:RequestTag/${STACK_TAG}`], D, `${r} needs aws:RequestTag/${STACK_TAG}`);
        }
        if (/:image\/\*$/.test(r)) {
          assert.ok(s.condition?.StringEquals?.['ec2:Owner'], 'images: owner condition');
          assert.equal(s.condition?.StringEquals?.['ec2:ResourceTag/Project'], 'dspace-preview', 'images: the AMI tag');
        }
        if (/:(subnet|security-group)\//.test(r)) assert.doesNotMatch(r, /\/\*$/, `${r}: only ours`);
      }
    }
    const resources = found.flatMap((s) => s.resources);
    for (const kind of ['instance', 'volume', 'image', 'subnet', 'security-group', 'network-interface']) {
      assert.ok(resources.some((r) => r.includes(`:${kind}/`)), `RunInstances needs a ${kind} resource`);
    }
  });

  it('requires IMDSv2 with hop limit 1 on every instance RunInstances may create', () => {
    const instanceGrants = granting(all, 'ec2:RunInstances').filter((s) => s.resources.some((r) => /:instance\//.test(r)));
    assert.ok(instanceGrants.length > 0);
    for (const s of instanceGrants) {
      assert.equal(s.condition?.StringEquals?.['ec2:MetadataHttpTokens'], 'required', `${s.sid}: IMDSv2`);
      const hop = s.condition?.NumericLessThanEquals?.['ec2:MetadataHttpPutResponseHopLimit'] ??
        s.condition?.NumericEquals?.['ec2:MetadataHttpPutResponseHopLimit'];
      assert.equal(Number(hop), 1, `${s.sid}: hop limit 1`);
      assert.ok(s.condition?.StringEquals?.['ec2:InstanceProfile'], `${s.sid}: only with our instance profile`);
    }
  });

  it('uses Resource * only for actions that cannot be scoped', () => {
    for (const s of all.filter((x) => x.effect === 'Allow' && x.resources.includes('*'))) {
      for (const a of s.actions) assert.ok(UNSCOPABLE.has(a), `${s.owner}/${s.sid}: ${a} on *`);
    }
  });

  it('grants no wildcard actions (a Deny may use one: it covers actions added later)', () => {
    for (const s of all.filter((x) => x.effect === 'Allow')) {
      for (const a of s.actions) assert.doesNotMatch(a, /\*/, `${s.owner}/${s.sid}: ${a}`);
    }
  });

  it('passes only the instance role, only to EC2', () => {
    const found = granting(all, 'iam:PassRole');
    assert.equal(found.length, 1);
    const [[roleId]] = resourcesOfType(json, 'AWS::IAM::InstanceProfile').map(([, r]) => r.Properties.Roles.map((x: any) => x.Ref));
    assert.deepEqual(found[0].resources, [`<<GetAtt:${roleId}.Arn>>`]);
    assert.equal(found[0].condition?.StringEquals?.['iam:PassedToService'], 'ec2.amazonaws.com');
  });

  it('lets steps retag only our instances, and only the tags that change after launch', () => {
    for (const s of granting(all, 'ec2:CreateTags')) {
      if (s.condition?.StringEquals?.['ec2:CreateAction'] === 'RunInstances') continue; // tag-on-create
      assert.equal(s.condition?.StringEquals?.[`ec2:ResourceTag/${STACK_TAG}`], D, `${s.owner}/${s.sid}`);
      assert.deepEqual(s.condition?.['ForAllValues:StringEquals']?.['aws:TagKeys'], MUTABLE_TAGS);
      assert.ok(!MUTABLE_TAGS.includes(STACK_TAG));
    }
  });

  it('runs health commands only on our instances, with AWS-RunShellScript only', () => {
    const found = granting(all, 'ssm:SendCommand');
    assert.ok(found.length > 0);
    for (const s of found) {
      for (const r of s.resources) {
        if (r.includes(':document/')) assert.match(r, /:document\/AWS-RunShellScript$/);
        else {
          assert.match(r, /:instance\/\*$/);
          assert.equal(s.condition?.StringEquals?.[`ssm:resourceTag/${STACK_TAG}`], D);
        }
      }
    }
  });

  it('keeps every parameter grant under /dspace-preview/<deployment>/ (or the AMI parameter)', () => {
    for (const s of all.filter((x) => x.effect === 'Allow' && x.actions.some((a) => a.startsWith('ssm:') && /Parameter/.test(a)))) {
      for (const r of s.resources) {
        assert.match(r, /:parameter\/dspace-preview\/(dspace-preview\/|ami-id$)/, `${s.owner}/${s.sid}: ${r}`);
      }
    }
  });

  it('lets the web app start and signal only our state machine', () => {
    const web = statementsOf(json, 'web');
    const states = web.filter((s) => s.actions.some((a) => a.startsWith('states:')));
    const arnOf = (r: string) => r.replace(/^arn:aws:states:eu-west-1:111122223333:/, '');
    for (const s of states) {
      for (const a of s.actions) {
        if (a === 'states:SendTaskSuccess') {
          // Extend and stop complete the wait; the web app never fails a task.
          assert.deepEqual(s.resources, ['*']);
          assert.deepEqual(s.actions, ['states:SendTaskSuccess']);
        } else if (['states:StartExecution', 'states:ListExecutions'].includes(a)) {
          assert.deepEqual(s.resources.map(arnOf), [`stateMachine:${D}`]);
        } else if (['states:DescribeExecution', 'states:GetExecutionHistory', 'states:StopExecution'].includes(a)) {
          assert.deepEqual(s.resources.map(arnOf), [`execution:${D}:*`]);
        } else assert.fail(`web: unexpected ${a}`);
      }
    }
    const actions = new Set(web.flatMap((s) => s.actions));
    for (const a of ['states:StartExecution', 'states:SendTaskSuccess', 'states:DescribeExecution', 'logs:FilterLogEvents']) {
      assert.ok(actions.has(a), `web needs ${a}`);
    }
    assert.ok(!actions.has('ec2:RunInstances') && !actions.has('ec2:TerminateInstances'));
    // It writes only its launch-limit places, sign-out revocations, webhook delivery records and
    // stop requests, never another parameter of a preview, nor a dial (test/web-parameters.test.ts:
    // all of its SSM).
    const puts = web.filter((s) => s.actions.includes('ssm:PutParameter')).flatMap((s) => s.resources);
    assert.deepEqual(puts.map((r) => r.replace(/^.*:parameter\//, '')).sort(), [
      `dspace-preview/${D}/launches/*`,
      `dspace-preview/${D}/password-views/*/*`,
      `dspace-preview/${D}/previews/*/stop-request`,
      `dspace-preview/${D}/revoked-sessions/*`,
      `dspace-preview/${D}/users/*/launches/*`,
      `dspace-preview/${D}/webhook-deliveries/*`,
    ]);
  });

  it("limits the reaper's execution checks to our state machine", () => {
    const reaper = statementsOf(json, 'reaper').filter((s) => s.actions.includes('states:DescribeExecution'));
    assert.equal(reaper.length, 1);
    assert.deepEqual(reaper[0].resources, [`arn:aws:states:eu-west-1:111122223333:execution:${D}:*`]);
  });

  it('gives resume-wait nothing but its own log group (it only does time math)', () => {
    assert.deepEqual(statementsOf(json, 'resume-wait').map((s) => s.sid), ['OwnLogGroup']);
  });

  it('gives each function its own role that writes only to its own log group', () => {
    const fns = resourcesOfType(json, 'AWS::Lambda::Function');
    const roles = new Set(fns.map(([id]) => roleOfFunction(json, id)));
    assert.equal(roles.size, fns.length, 'one role per function');
    for (const [id, fn] of fns) {
      const own = statements(json).filter((s) => s.roles.includes(roleOfFunction(json, id)));
      const logs = own.filter((s) => s.actions.some((a) => a.startsWith('logs:')) && s.sid === 'OwnLogGroup');
      assert.equal(logs.length, 1, fn.Properties.FunctionName);
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref;
      assert.deepEqual(logs[0].resources, [`<<GetAtt:${logGroupId}.Arn>>`]);
      const role = json.Resources[roleOfFunction(json, id)];
      assert.equal(role.Properties.ManagedPolicyArns, undefined, `${fn.Properties.FunctionName}: no managed policies`);
    }
    assert.equal(fns.length, STEPS.length + 1 + OTHER_FUNCTIONS.length, 'the steps, the web app, pr-status');
  });

  it('pins RunInstances to one image when amiId is given', () => {
    const { json: pinned } = synth({ amiId: 'ami-0123456789abcdef0' });
    const images = granting(statements(pinned), 'ec2:RunInstances').flatMap((s) => s.resources).filter((r) => r.includes(':image/'));
    assert.deepEqual(images, ['arn:aws:ec2:eu-west-1::image/ami-0123456789abcdef0']);
  });
});
