/**
 * Nothing ends a healthy preview early, nothing is left behind: who may stop a preview in each
 * phase, who may complete or fail its wait, and what wakes the reaper.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { allows, defaultStack, functionId, granting, render, resourcesOfType, roleOfFunction, statements, statementsOf } from './helpers';

const D = 'dspace-preview';
const ID = 'dsp-b9876-202611281930-0001';
const parameterArn = (name: string) => `arn:aws:ssm:eu-west-1:111122223333:parameter/dspace-preview/${D}/${name}`;
const STATE_MACHINE_ARN = `arn:aws:states:eu-west-1:111122223333:stateMachine:${D}`;
const STOP_REQUEST = parameterArn(`previews/${ID}/stop-request`);

describe('stop in every phase', () => {
  const { json } = defaultStack();
  const all = statements(json);
  const rolesOf = (found: { roles: string[] }[]) => [...new Set(found.flatMap((s) => s.roles))].sort();
  const role = (bin: string) => roleOfFunction(json, functionId(json, bin));

  it('lets only the web app write a stop request, and only there', () => {
    assert.deepEqual(rolesOf(allows(all, 'ssm:PutParameter', STOP_REQUEST)), [role('web')]);
    const puts = granting(statementsOf(json, 'web'), 'ssm:PutParameter').filter((s) => s.sid === 'RequestStops');
    assert.deepEqual(puts.flatMap((s) => s.resources), [parameterArn('previews/*/stop-request')]);
    for (const other of [`previews/${ID}/task-token`, `previews/${ID}/admin-password`, 'slots/1', 'config/max-live']) {
      assert.deepEqual(allows(statementsOf(json, 'web'), 'ssm:PutParameter', parameterArn(other)), [], `web may put ${other}`);
    }
  });

  it('lets the health poll and the wait read stop requests', () => {
    for (const bin of ['check-health', 'await-expiry']) {
      const reads = allows(statementsOf(json, bin), 'ssm:GetParameter', STOP_REQUEST);
      assert.equal(reads.length, 1, bin);
      assert.deepEqual(reads[0].resources, [parameterArn('previews/*/stop-request')], bin);
    }
  });

  it('lets terminate and the reaper delete a stop request with the rest of the preview', () => {
    for (const bin of ['terminate', 'reaper']) {
      const own = statementsOf(json, bin);
      assert.ok(allows(own, 'ssm:GetParametersByPath', parameterArn(`previews/${ID}`)).length > 0, `${bin}: list`);
      assert.ok(allows(own, 'ssm:DeleteParameters', STOP_REQUEST).length > 0, `${bin}: delete`);
    }
  });

  // Task-token actions (SendTaskSuccess, SendTaskFailure) take no resource ARN: IAM accepts only
  // Resource "*" for them, and a statement naming the state machine is AccessDenied in AWS.
  it('lets await-expiry complete its own wait (SendTaskSuccess on *), and nothing else of Step Functions', () => {
    const states = statementsOf(json, 'await-expiry').filter((s) => s.actions.some((a) => a.toLowerCase().startsWith('states:')));
    assert.deepEqual(
      states.map((s) => ({ effect: s.effect, actions: s.actions, resources: s.resources })),
      [{ effect: 'Allow', actions: ['states:SendTaskSuccess'], resources: ['*'] }],
    );
    // The role's policy names no resource of the state machine (which invokes this function: a cycle).
    const [smId] = Object.entries(json.Resources as Record<string, any>).find(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')!;
    for (const [id, r] of Object.entries(json.Resources as Record<string, any>)) {
      if (r.Type !== 'AWS::IAM::Policy' || !r.Properties.Roles.some((x: any) => x.Ref === role('await-expiry'))) continue;
      assert.doesNotMatch(JSON.stringify(r), new RegExp(`"${smId}"`), `${id} refers to the state machine`);
      assert.equal(r.DependsOn, undefined, `${id} depends on something`);
    }
  });

  it('leaves the web app its SendTaskSuccess on * (extend and stop)', () => {
    const successes = granting(statementsOf(json, 'web'), 'states:SendTaskSuccess');
    assert.equal(successes.length, 1);
    assert.deepEqual(successes[0].actions, ['states:SendTaskSuccess']);
    assert.deepEqual(successes[0].resources, ['*']);
  });

});

describe('the reaper, woken by events', () => {
  const { json, template } = defaultStack();
  const reaper = functionId(json, 'reaper');
  // The reaper's rules (the PR-status function's own rule: test/github.test.ts).
  const eventRules = resourcesOfType(json, 'AWS::Events::Rule').filter(
    ([, r]) => r.Properties.EventPattern && r.Properties.Targets.some((t: any) => t.Arn?.['Fn::GetAtt']?.[0] === reaper),
  );

  it('runs when an execution of this state machine fails, times out or is stopped', () => {
    const states = eventRules.filter(([, r]) => r.Properties.EventPattern.source[0] === 'aws.states');
    assert.equal(states.length, 1);
    const pattern = states[0][1].Properties.EventPattern;
    assert.deepEqual(pattern['detail-type'], ['Step Functions Execution Status Change']);
    assert.deepEqual(pattern.detail.stateMachineArn.map((a: any) => render(a)), [STATE_MACHINE_ARN]);
    assert.deepEqual(pattern.detail.status, ['FAILED', 'TIMED_OUT', 'ABORTED']);
  });

  it('runs when any instance stops or terminates, and on spot interruption warnings (it checks the tags)', () => {
    const ec2 = eventRules.map(([, r]) => r.Properties.EventPattern).filter((p) => p.source[0] === 'aws.ec2');
    assert.deepEqual(ec2, [
      {
        source: ['aws.ec2'],
        'detail-type': ['EC2 Instance State-change Notification'],
        detail: { state: ['shutting-down', 'terminated', 'stopping', 'stopped'] },
      },
      { source: ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] },
    ]);
  });

  it('retries each event for an hour, then keeps it in an encrypted dead-letter queue', () => {
    assert.equal(eventRules.length, 3);
    assert.equal(resourcesOfType(json, 'AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern).length, 4, "the reaper's three and the PR-status function's");
    const [[queueId, queue]] = resourcesOfType(json, 'AWS::SQS::Queue');
    assert.equal(queue.Properties.SqsManagedSseEnabled, true);
    for (const [id, rule] of eventRules) {
      assert.equal(rule.Properties.Targets.length, 1, id);
      const [target] = rule.Properties.Targets;
      assert.deepEqual(target.Arn, { 'Fn::GetAtt': [reaper, 'Arn'] }, id);
      assert.deepEqual(target.RetryPolicy, { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 }, id);
      assert.deepEqual(target.DeadLetterConfig, { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } }, id);
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [reaper, 'Arn'] },
        SourceArn: { 'Fn::GetAtt': [id, 'Arn'] },
      });
    }
    // Only EventBridge, only for these rules, may drop events there; and only over TLS.
    const [[, policy]] = resourcesOfType(json, 'AWS::SQS::QueuePolicy');
    const sends = policy.Properties.PolicyDocument.Statement.filter((s: any) => s.Effect === 'Allow');
    assert.deepEqual(sends.map((s: any) => s.Principal), eventRules.map(() => ({ Service: 'events.amazonaws.com' })));
    assert.deepEqual(sends.map((s: any) => s.Condition.ArnEquals['aws:SourceArn']['Fn::GetAtt'][0]).sort(), eventRules.map(([id]) => id).sort());
    assert.ok(policy.Properties.PolicyDocument.Statement.some((s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'));
  });

  it('lets only the reaper fail a task: the wait of a preview whose instance is gone', () => {
    const all = statements(json);
    const fails = granting(all, 'states:SendTaskFailure');
    assert.deepEqual([...new Set(fails.flatMap((s) => s.roles))], [roleOfFunction(json, reaper)]);
    assert.deepEqual(fails.flatMap((s) => s.resources), ['*']);
    assert.deepEqual(fails.flatMap((s) => s.actions), ['states:SendTaskFailure']);
    // It reads the waiting token, and no other parameter by name.
    const reads = granting(statementsOf(json, 'reaper'), 'ssm:GetParameter').flatMap((s) => s.resources);
    assert.deepEqual(reads, [parameterArn('previews/*/task-token')]);
  });
});
