/**
 * Nothing ends a healthy preview early, nothing is left behind: who may stop a preview in each
 * phase, who may complete or fail its wait.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { allows, defaultStack, functionId, granting, roleOfFunction, statements, statementsOf } from './helpers';

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

  it("lets await-expiry complete its own wait, on the state machine's ARN built from its name (no cycle)", () => {
    const own = granting(statementsOf(json, 'await-expiry'), 'states:SendTaskSuccess');
    assert.equal(own.length, 1);
    assert.deepEqual(own[0].resources, [STATE_MACHINE_ARN]);
    // The synth above succeeded; and the role's policy names no resource of the state machine.
    const [smId] = Object.entries(json.Resources as Record<string, any>).find(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')!;
    for (const [id, r] of Object.entries(json.Resources as Record<string, any>)) {
      if (r.Type !== 'AWS::IAM::Policy' || !r.Properties.Roles.some((x: any) => x.Ref === role('await-expiry'))) continue;
      assert.doesNotMatch(JSON.stringify(r), new RegExp(`"${smId}"`), `${id} refers to the state machine`);
      assert.equal(r.DependsOn, undefined, `${id} depends on something`);
    }
  });

  it('never lets the web app fail a task', () => {
    assert.deepEqual(granting(statementsOf(json, 'web'), 'states:SendTaskFailure'), []);
  });
});
