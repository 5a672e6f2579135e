import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { placeholders, readAsl } from '../lib/asl';
import { OTHER_FUNCTIONS, STEPS } from '../lib/catalog';

/** Every function the ASL names by placeholder: the steps and the other crates' (pr-status). */
const TASK_FUNCTIONS = [...STEPS, ...OTHER_FUNCTIONS];
import { REPO_ROOT, defaultStack, functionId, render, resourcesOfType, statements, synth } from './helpers';

const ASL = path.join(REPO_ROOT, 'statemachine', 'preview.asl.json');

/** The deployed definition, parsed, with function ARNs shown as <<GetAtt:Id.Arn>>. */
function definition(json: any): any {
  const [[, sm]] = resourcesOfType(json, 'AWS::StepFunctions::StateMachine');
  assert.equal(sm.Properties.DefinitionSubstitutions, undefined, 'substitution happens at synth, not in CloudFormation');
  assert.equal(sm.Properties.DefinitionS3Location, undefined, 'the definition is inline, so it can be checked');
  return { text: render(sm.Properties.DefinitionString), parsed: JSON.parse(render(sm.Properties.DefinitionString)) };
}

/** The function name suffix: the step's binary, or the other crate function's name. */
function functionName(spec: (typeof TASK_FUNCTIONS)[number]): string {
  return OTHER_FUNCTIONS.find((f) => f === spec)?.name ?? spec.bin;
}

/** Every Task state, nested states included. */
function tasks(states: Record<string, any>): [string, any][] {
  const out: [string, any][] = [];
  for (const [name, s] of Object.entries(states)) {
    if (s.Type === 'Task') out.push([name, s]);
    for (const branch of s.Branches ?? []) out.push(...tasks(branch.States));
    if (s.Iterator) out.push(...tasks(s.Iterator.States));
    if (s.ItemProcessor) out.push(...tasks(s.ItemProcessor.States));
  }
  return out;
}

/** The function a Task invokes: its Resource, or FunctionName for the lambda:invoke integrations. */
function invoked(task: any): string {
  if (typeof task.Resource === 'string' && task.Resource.startsWith('arn:aws:states:::lambda:invoke')) {
    return task.Parameters.FunctionName;
  }
  return task.Resource;
}

describe('state machine', () => {
  it('has no unresolved ${...} placeholders', () => {
    const { json } = defaultStack();
    const { text } = definition(json);
    assert.doesNotMatch(text, /\$\{/, 'a ${...} placeholder was left in the definition');
  });

  it('points every Task at a Lambda function of this stack', () => {
    const { json } = defaultStack();
    const { parsed } = definition(json);
    const found = tasks(parsed.States);
    assert.ok(found.length >= 7, `expected the seven step tasks, got ${found.length}`);
    const functions = new Set(resourcesOfType(json, 'AWS::Lambda::Function').map(([id]) => id));
    for (const [name, task] of found) {
      const target = invoked(task);
      const m = /^<<GetAtt:([A-Za-z0-9]+)\.Arn>>$/.exec(target);
      assert.ok(m, `${name} invokes '${target}', not a function of this stack`);
      assert.ok(functions.has(m[1]), `${name} invokes ${m[1]}, which is not an AWS::Lambda::Function here`);
    }
  });

  it('uses each step function where its placeholder stood', () => {
    const { json } = defaultStack();
    const { parsed } = definition(json);
    const source = JSON.parse(fs.readFileSync(ASL, 'utf8'));
    const byPlaceholder = new Map(TASK_FUNCTIONS.filter((s) => s.placeholder).map((s) => [s.placeholder!, functionName(s)]));
    for (const [name, task] of tasks(source.States)) {
      const m = /^\$\{([A-Za-z]+)\}$/.exec(invoked(task));
      assert.ok(m, `${name} in the ASL does not use a placeholder`);
      const bin = byPlaceholder.get(m[1]);
      assert.ok(bin, `${name} uses \${${m[1]}}, which lib/catalog.ts does not know`);
      const deployed = invoked(tasks(parsed.States).find(([n]) => n === name)![1]);
      assert.equal(deployed, `<<GetAtt:${functionId(json, bin)}.Arn>>`, `${name} should invoke ${bin}`);
    }
    // And every step of the catalog is reachable from the state machine.
    const used = new Set(placeholders(fs.readFileSync(ASL, 'utf8')));
    for (const s of TASK_FUNCTIONS.filter((x) => x.placeholder)) assert.ok(used.has(s.placeholder!), `${s.placeholder} unused`);
  });

  it('lets the state machine invoke exactly its task functions', () => {
    const { json } = defaultStack();
    const [[smId, sm]] = resourcesOfType(json, 'AWS::StepFunctions::StateMachine');
    const role = sm.Properties.RoleArn['Fn::GetAtt'][0];
    const invokable = statements(json)
      .filter((s) => s.roles.includes(role) && s.actions.includes('lambda:InvokeFunction'))
      .flatMap((s) => s.resources)
      .map((r) => /^<<GetAtt:([A-Za-z0-9]+)\.Arn>>/.exec(r)?.[1]);
    const expected = TASK_FUNCTIONS.filter((s) => s.placeholder).map((s) => functionId(json, functionName(s)));
    assert.deepEqual([...new Set(invokable)].sort(), [...expected].sort(), `${smId}'s role`);
  });

  it('gives each task Lambda a timeout shorter than every state that runs it allows', () => {
    // A state that timed out must leave no invocation behind that could still write (take a slot
    // after the Catch released it, tag an instance already terminated).
    const { json } = defaultStack();
    const source = readAsl(ASL);
    const byPlaceholder = new Map(TASK_FUNCTIONS.filter((s) => s.placeholder).map((s) => [s.placeholder!, functionName(s)]));
    const checked: string[] = [];
    for (const [name, task] of tasks(source.States)) {
      const m = /^\$\{([A-Za-z]+)\}$/.exec(invoked(task));
      assert.ok(m && byPlaceholder.has(m[1]), `${name} does not invoke a function of lib/catalog.ts`);
      if (task.Parameters?.InvocationType === 'Event') {
        // Queued, not awaited: the state ends once Lambda took the event, so nothing of it is
        // left running when the state times out; the function's own timeout is its own business.
        assert.equal(task.ResultPath, null, `${name}: an Event invocation returns nothing to keep`);
        continue;
      }
      if (task.TimeoutSeconds === undefined) {
        // The wait's timeout is the preview's TTL (TimeoutSecondsPath); the Lambda only parks the token.
        assert.match(task.Resource, /\.waitForTaskToken$/, `${name} has no TimeoutSeconds`);
        continue;
      }
      const timeout = json.Resources[functionId(json, byPlaceholder.get(m[1])!)].Properties.Timeout;
      assert.ok(timeout < task.TimeoutSeconds, `${name}: Lambda timeout ${timeout} s, state timeout ${task.TimeoutSeconds} s`);
      checked.push(name);
    }
    for (const name of ['CheckCapacity', 'Launch', 'CheckHealth', 'RecordUrl', 'Extend', 'ResumeWait', 'Terminate', 'CleanUpAfterFailure']) {
      assert.ok(checked.includes(name), `${name} was not checked`);
    }
    const health = json.Resources[functionId(json, 'check-health')].Properties.Timeout;
    assert.ok(health > 600, 'check-health polls for up to 600 s per invocation');
  });

  it('refuses to synthesize when the ASL uses a placeholder the stack does not fill', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asl-'));
    const bad = path.join(dir, 'bad.asl.json');
    fs.writeFileSync(bad, fs.readFileSync(ASL, 'utf8').replace('${ExtendFunctionArn}', '${ExtendFunctionArnTypo}'));
    assert.throws(() => synth({ aslPath: bad }), /ExtendFunctionArnTypo/);
  });

  it('refuses to synthesize when the ASL is not JSON', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asl-'));
    const bad = path.join(dir, 'bad.asl.json');
    fs.writeFileSync(bad, '{ "StartAt": ');
    assert.throws(() => synth({ aslPath: bad }), /not valid JSON/);
  });

  it('refuses a lifetime longer than the state machine timeout', () => {
    assert.throws(() => synth({ maxLifetimeMinutes: 24 * 60, defaultTtlMinutes: 120 }), /TimeoutSeconds/);
  });
});
