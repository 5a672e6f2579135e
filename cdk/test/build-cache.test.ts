/**
 * The build cache: the ECR repository the preview instances keep built images in, and who may
 * see it (launch and the web app look for a cached build; the instances' grants are in
 * instance-role.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { STEPS } from '../lib/catalog';
import { defaultStack, functionId, instanceRoleId, render, resourcesOfType, roleOfFunction, statements, synth } from './helpers';

const NAME = 'dspace-preview/preview-cache';
const ARN = `arn:aws:ecr:eu-west-1:111122223333:repository/${NAME}`;
const URI = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/${NAME}`;

/** The one repository of a template: [logicalId, resource]. */
function repository(json: any): [string, any] {
  const found = resourcesOfType(json, 'AWS::ECR::Repository');
  assert.equal(found.length, 1, 'one ECR repository');
  return found[0];
}

/** The rules of a repository's lifecycle policy. */
function lifecycleRules(json: any): any[] {
  return JSON.parse(repository(json)[1].Properties.LifecyclePolicy.LifecyclePolicyText).rules;
}

describe('build cache', () => {
  const { json } = defaultStack();
  const all = statements(json);
  const [repoId, repo] = repository(json);

  it('is the repository <name>/preview-cache: immutable tags, AES256, no scan, gone with the stack and its images', () => {
    assert.equal(repo.Properties.RepositoryName, NAME);
    assert.equal(repo.Properties.ImageTagMutability, 'IMMUTABLE');
    assert.deepEqual(repo.Properties.EncryptionConfiguration, { EncryptionType: 'AES256' });
    assert.deepEqual(repo.Properties.ImageScanningConfiguration, { ScanOnPush: false });
    assert.equal(repo.DeletionPolicy, 'Delete');
    assert.equal(repo.UpdateReplacePolicy, 'Delete');
    assert.equal(repo.Properties.EmptyOnDelete, true);
    // CloudFormation's own EmptyOnDelete: no custom resource (and no extra function) deletes the images.
    assert.deepEqual(resourcesOfType(json, 'Custom::ECRAutoDeleteImages'), []);
    assert.equal(repository(synth({ deployment: 'staging' }).json)[1].Properties.RepositoryName, 'dspace-preview-staging/preview-cache');
  });

  it('expires every image buildCacheDays (default 14) after its push', () => {
    const rule = (days: number) => ({
      rulePriority: 1,
      description: `cached builds expire ${days} days after their push`,
      selection: { tagStatus: 'any', countType: 'sinceImagePushed', countNumber: days, countUnit: 'days' },
      action: { type: 'expire' },
    });
    assert.deepEqual(lifecycleRules(json), [rule(14)]);
    assert.deepEqual(lifecycleRules(synth({ buildCacheDays: 30 }).json), [rule(30)]);
    assert.deepEqual(lifecycleRules(synth({ buildCacheDays: 365 }).json), [rule(365)]);
  });

  it('refuses a buildCacheDays that is not a whole number from 1 to 365', () => {
    for (const days of [0, -1, 366, 1.5, Number.NaN]) {
      assert.throws(() => synth({ buildCacheDays: days }), /buildCacheDays must be a whole number from 1 to 365/, String(days));
    }
  });

  it('lets launch and the web app only see which builds are cached, in this repository', () => {
    for (const bin of ['launch', 'web']) {
      const role = roleOfFunction(json, functionId(json, bin));
      const ecr = all.filter((s) => s.roles.includes(role) && s.actions.some((a) => a.startsWith('ecr:')));
      assert.deepEqual(
        ecr.map((s) => ({ sid: s.sid, effect: s.effect, actions: s.actions, resources: s.resources, condition: s.condition })),
        [{ sid: 'FindCachedBuilds', effect: 'Allow', actions: ['ecr:DescribeImages'], resources: [ARN], condition: undefined }],
        bin,
      );
    }
    // No other role touches ECR: the other steps, the state machine, the instances beyond their grants.
    const users = new Set(all.filter((s) => s.actions.some((a) => a.startsWith('ecr:'))).flatMap((s) => s.roles));
    const expected = [instanceRoleId(json), ...['launch', 'web'].map((b) => roleOfFunction(json, functionId(json, b)))];
    assert.deepEqual([...users].sort(), expected.sort());
  });

  it('tells launch and the web app where the cache is, as PREVIEW_BUILD_CACHE_REPOSITORY', () => {
    // What CloudFormation returns for the repository: its name (Ref) and ARN.
    const known = { [repoId]: NAME, [`${repoId}.Arn`]: ARN };
    for (const bin of [...STEPS.map((s) => s.bin), 'web']) {
      const env = json.Resources[functionId(json, bin)].Properties.Environment.Variables;
      if (bin === 'launch' || bin === 'web') {
        assert.equal(render(env.PREVIEW_BUILD_CACHE_REPOSITORY, known), URI, bin);
      } else {
        assert.equal(env.PREVIEW_BUILD_CACHE_REPOSITORY, undefined, `${bin} does not need the cache`);
      }
    }
  });
});
