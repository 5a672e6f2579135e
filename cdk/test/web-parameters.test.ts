/**
 * The web app's SSM parameters: what it reads about previews and dials, the stop requests it
 * leaves, its launch-limit places (web/src/limits.rs), its sign-out revocations
 * (web/src/revocations.rs), its GitHub webhook delivery records (web/src/webhook/deliveries.rs)
 * and its admin-password reveals (web/src/reveals.rs) — exactly these, nothing else under the
 * parameter root.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { REPO_ROOT, allows, defaultStack, statementsOf } from './helpers';

const D = 'dspace-preview';
const ARN_PREFIX = 'arn:aws:ssm:eu-west-1:111122223333:parameter/';
const parameterArn = (name: string, deployment = D) => `${ARN_PREFIX}dspace-preview/${deployment}/${name}`;
const ID = 'dsp-b9876-202611281930-0001';
/** A person's key as web/src/limits.rs `user_key` makes it: readable, then 8 hex digits. */
const USER = 'octo.cat_-2bd806c9';
const SESSION = '3f9c2a7e5b1d4c6f8a0e2b4d6f8a1c3e';
/** An `X-GitHub-Delivery` id, as GitHub sends it. */
const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

/** The four places the web app lists, writes and deletes, as the Rust code names them. */
const PLACES = [
  { what: 'per-person launch places', path: `users/${USER}/launches`, item: `users/${USER}/launches/3-12` },
  { what: 'global launch places', path: 'launches', item: 'launches/17-4' },
  { what: 'sign-out revocations', path: 'revoked-sessions', item: `revoked-sessions/${SESSION}` },
  { what: 'webhook delivery records', path: 'webhook-deliveries', item: `webhook-deliveries/${DELIVERY}` },
];

describe("the web app's SSM parameters", () => {
  const { json } = defaultStack();
  const web = statementsOf(json, 'web');

  it('are exactly the reads, stop requests, launch places, revocations, webhook deliveries and password views, nothing more', () => {
    const pairs = web
      .filter((s) => s.effect === 'Allow')
      .flatMap((s) => s.actions.filter((a) => a.startsWith('ssm:')).flatMap((a) => s.resources.map((r) => `${a} ${r}`)));
    for (const p of pairs) assert.ok(p.includes(` ${ARN_PREFIX}dspace-preview/${D}/`), `outside the parameter root: ${p}`);
    const short = [...new Set(pairs.map((p) => p.replace(`${ARN_PREFIX}dspace-preview/${D}/`, '')))].sort();
    const each = (actions: string[], resources: string[]) => actions.flatMap((a) => resources.map((r) => `${a} ${r}`));
    const expected = [
      // Previews, dials and capacity slots (read only).
      ...each(['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'], ['previews/*', 'config', 'config/*', 'slots', 'slots/*']),
      // Stop while no task token waits.
      ...each(['ssm:PutParameter'], ['previews/*/stop-request']),
      // Launch limits and sign-outs: listed by path (the path's ARN, with or without the
      // trailing slash), created and deleted one by one.
      ...each(['ssm:GetParametersByPath'], ['users/*/launches', 'users/*/launches/*', 'launches', 'launches/*', 'revoked-sessions', 'revoked-sessions/*']),
      ...each(['ssm:PutParameter', 'ssm:DeleteParameters'], ['users/*/launches/*', 'launches/*', 'revoked-sessions/*']),
      // Webhook deliveries: the same three calls on their own path.
      ...each(['ssm:GetParametersByPath'], ['webhook-deliveries', 'webhook-deliveries/*']),
      ...each(['ssm:PutParameter', 'ssm:DeleteParameters'], ['webhook-deliveries/*']),
      // Password views: listed per preview, created one by one, never deleted.
      ...each(['ssm:GetParametersByPath'], ['password-views/*']),
      ...each(['ssm:PutParameter'], ['password-views/*/*']),
    ].sort();
    assert.deepEqual(short, expected);
  });

  for (const place of PLACES) {
    it(`lets it list, create and delete ${place.what}`, () => {
      // The Rust code lists `<path>/`; IAM sees the path's ARN.
      for (const listed of [place.path, `${place.path}/`]) {
        assert.ok(allows(web, 'ssm:GetParametersByPath', parameterArn(listed)).length > 0, `list ${listed}`);
      }
      for (const action of ['ssm:PutParameter', 'ssm:DeleteParameters']) {
        assert.ok(allows(web, action, parameterArn(place.item)).length > 0, `${action} ${place.item}`);
        // Not the path itself as a parameter, not another deployment's.
        assert.deepEqual(allows(web, action, parameterArn(place.path)), [], `${action} ${place.path}`);
        assert.deepEqual(allows(web, action, parameterArn(place.item, 'staging')), [], `${action} staging/${place.item}`);
      }
      // It never reads one place by name, never deletes with the singular call.
      for (const action of ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:DeleteParameter']) {
        assert.deepEqual(allows(web, action, parameterArn(place.item)), [], `${action} ${place.item}`);
      }
      assert.deepEqual(allows(web, 'ssm:GetParametersByPath', parameterArn(place.path, 'staging')), [], `list staging/${place.path}`);
    });
  }

  it("lets it record a preview's password views and list them, never replace or delete one", () => {
    const record = `password-views/${ID}/1700000000123-${USER}`;
    // The Rust code lists `<root>/password-views/<id>/`; IAM sees the path's ARN.
    for (const listed of [`password-views/${ID}`, `password-views/${ID}/`]) {
      assert.ok(allows(web, 'ssm:GetParametersByPath', parameterArn(listed)).length > 0, `list ${listed}`);
      assert.deepEqual(allows(web, 'ssm:GetParametersByPath', parameterArn(listed, 'staging')), [], `list staging/${listed}`);
    }
    assert.ok(allows(web, 'ssm:PutParameter', parameterArn(record)).length > 0, 'record a view');
    assert.deepEqual(allows(web, 'ssm:PutParameter', parameterArn(record, 'staging')), [], 'record a view of staging');
    // Only <id>/<record>: not the path, not a preview's own parameters.
    for (const other of ['password-views', `password-views/${ID}`]) {
      assert.deepEqual(allows(web, 'ssm:PutParameter', parameterArn(other)), [], `put ${other}`);
    }
    for (const action of ['ssm:DeleteParameter', 'ssm:DeleteParameters', 'ssm:GetParameter', 'ssm:GetParameters', 'ssm:LabelParameterVersion']) {
      assert.deepEqual(allows(web, action, parameterArn(record)), [], `${action} ${record}`);
    }
    // The whole folder is not listed at once.
    assert.deepEqual(allows(web, 'ssm:GetParametersByPath', parameterArn('password-views')), [], 'list every preview');
  });

  it('records password views where and how web/src/reveals.rs does, outside what the workflow deletes', () => {
    const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
    const reveals = read('web/src/reveals.rs');
    assert.match(reveals, /format!\("\{root\}\/password-views\/\{id\}\/"\)/);
    assert.match(reveals, /"\{\}\{\}-\{\}",\s*path\(root, id\),/);
    assert.equal(reveals.match(/let root = state\.ctx\.base\.names\(\)\.parameter_root\(\);/g)?.length, 2, 'record and list');
    // Exactly the two calls granted: create without Overwrite, list (not recursive).
    assert.match(reveals, /\.put_parameter\(\)[\s\S]*?\.overwrite\(false\)/);
    assert.doesNotMatch(reveals, /\.overwrite\(true\)/);
    assert.match(reveals, /\.get_parameters_by_path\(\)/);
    assert.doesNotMatch(reveals, /\.recursive\(/);
    assert.doesNotMatch(reveals, /\.(delete_parameter|delete_parameters|get_parameter|get_parameters)\(\)|delete_all\(/);
    // The reaper's stray sweep and the clean-ups delete under previews/ only.
    const lifecycle = read('tasks/src/lifecycle.rs');
    assert.match(lifecycle, /pub async fn stray_parameters[\s\S]*?names_under\(&ctx\.clients\.ssm, &names\.previews_path\(\)\)/);
    assert.match(read('tasks/src/domain/names.rs'), /fn previews_path[\s\S]*?\/previews\//);
    const { json: j } = defaultStack();
    for (const bin of ['terminate', 'reaper']) {
      assert.deepEqual(allows(statementsOf(j, bin), 'ssm:DeleteParameters', parameterArn(`password-views/${ID}/1-x`)), [], bin);
    }
  });

  it('never writes or deletes a preview, slot or dial, nor anything else of a person', () => {
    for (const other of [
      `previews/${ID}/task-token`,
      `previews/${ID}/admin-password`,
      `previews/${ID}/stop-request`,
      'slots/1',
      'config/launches-per-hour',
      `users/${USER}`,
      `users/${USER}/other`,
    ]) {
      for (const action of ['ssm:DeleteParameter', 'ssm:DeleteParameters']) {
        assert.deepEqual(allows(web, action, parameterArn(other)), [], `web may ${action} ${other}`);
      }
      if (!other.endsWith('/stop-request')) {
        assert.deepEqual(allows(web, 'ssm:PutParameter', parameterArn(other)), [], `web may put ${other}`);
      }
    }
    // No listing of the whole root or of every person.
    for (const listed of ['', 'users', `users/${USER}`]) {
      assert.deepEqual(allows(web, 'ssm:GetParametersByPath', parameterArn(listed).replace(/\/$/, '')), [], `list ${listed || 'the root'}`);
    }
  });

  it('matches what the Rust code calls, and where', () => {
    const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
    const limits = read('web/src/limits.rs');
    const revocations = read('web/src/revocations.rs');
    const deliveries = read('web/src/webhook/deliveries.rs');
    const names = read('tasks/src/domain/names.rs');
    const parameters = read('tasks/src/parameters.rs');
    // The paths granted above.
    assert.match(names, /format!\("\{\}\/users\/\{user_key\}\/launches", self\.parameter_root\(\)\)/);
    assert.match(names, /format!\("\/dspace-preview\/\{\}", self\.stack\)/);
    assert.match(limits, /"\{\}\/launches\/", state\.ctx\.base\.names\(\)\.parameter_root\(\)/);
    assert.match(revocations, /"\{\}\/revoked-sessions\/",\s*state\.ctx\.base\.names\(\)\.parameter_root\(\)/);
    // Delivery records: `<root>/webhook-deliveries/<id>`, the root the same as above.
    assert.match(deliveries, /format!\("\{root\}\/webhook-deliveries\/"\)/);
    assert.match(deliveries, /format!\("\{\}\{delivery\}", path\(root\)\)/);
    assert.equal(deliveries.match(/let root = state\.ctx\.base\.names\(\)\.parameter_root\(\);/g)?.length, 2, 'first_time and forget');
    // Created without Overwrite: an existing record means a replay, never a second action.
    assert.match(deliveries, /\.put_parameter\(\)[\s\S]*?\.overwrite\(false\)/);
    assert.doesNotMatch(deliveries, /\.overwrite\(true\)/);
    for (const [file, text] of [['web/src/limits.rs', limits], ['web/src/revocations.rs', revocations], ['web/src/webhook/deliveries.rs', deliveries]]) {
      // The three operations granted: list (not recursive), create, delete in batches.
      assert.match(text, /\.get_parameters_by_path\(\)/, file);
      assert.match(text, /\.put_parameter\(\)/, file);
      assert.match(text, /preview_tasks::parameters::delete_all\(/, file);
      assert.doesNotMatch(text, /\.recursive\(/, `${file}: a recursive listing needs the sub-paths' ARNs`);
      assert.doesNotMatch(text, /\.(delete_parameter|get_parameter|get_parameters)\(\)/, `${file}: an operation not granted`);
    }
    // delete_all is DeleteParameters.
    assert.match(parameters, /pub async fn delete_all[\s\S]*?\.delete_parameters\(\)/);
    assert.doesNotMatch(parameters, /\.delete_parameter\(\)/);
  });
});
