#!/usr/bin/env -S npx tsx
/**
 * The CDK app. Every setting is a context value: `cdk deploy -c maxLive=5 -c instanceType=t3.large`
 * or a "context" entry in cdk.json / cdk.context.json. See README.md for the list.
 */
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import { accessCodeSecretName, namePrefix } from '../lib/catalog';
import { PreviewStack, PreviewStackProps, REPO_ROOT } from '../lib/preview-stack';

const app = new cdk.App();

const str = (key: string): string | undefined => {
  const v = app.node.tryGetContext(key);
  return v === undefined || v === null || v === '' ? undefined : String(v);
};
const num = (key: string): number | undefined => {
  const v = str(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`context ${key}: expected a number, got '${v}'`);
  return n;
};
const bool = (key: string): boolean | undefined => {
  const v = str(key);
  if (v === undefined) return undefined;
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  throw new Error(`context ${key}: expected true or false, got '${v}'`);
};
const list = (key: string): string[] | undefined =>
  str(key)
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const arch = str('lambdaArchitecture');
if (arch !== undefined && arch !== 'arm64' && arch !== 'x86_64') {
  throw new Error(`context lambdaArchitecture: arm64 or x86_64, got '${arch}'`);
}

const deployment = str('deployment') ?? 'dspace-preview';
// The sign-in code used to be a context value, and so ended up in the template.
if (str('accessCode') !== undefined) {
  throw new Error(
    'context accessCode is no longer taken: the sign-in code lives in Secrets Manager only. Deploy without it, then set ' +
      `yours with: aws secretsmanager put-secret-value --secret-id ${accessCodeSecretName(deployment)} --secret-string '<code>'`,
  );
}
const props: PreviewStackProps = {
  stackName: str('stackName') ?? namePrefix(deployment),
  description: `dspace-preview (${deployment}): pull-request previews of DSpace on EC2`,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  deployment,
  lambdaDir: path.resolve(str('lambdaDir') ?? path.join(REPO_ROOT, 'target', 'lambda')),
  aslPath: str('aslPath'),
  lambdaArchitecture: arch as PreviewStackProps['lambdaArchitecture'],
  web: bool('web'),
  webConcurrency: num('webConcurrency'),
  vpcId: str('vpcId'),
  subnetId: str('subnetId'),
  allowedCidrs: list('allowedCidrs'),
  maxLive: num('maxLive'),
  instanceType: str('instanceType'),
  defaultTtlMinutes: num('defaultTtlMinutes'),
  minTtlMinutes: num('minTtlMinutes'),
  maxLifetimeMinutes: num('maxLifetimeMinutes'),
  healthDeadlineMinutes: num('healthDeadlineMinutes'),
  useSpot: bool('useSpot'),
  volumeGib: num('volumeGib'),
  adminEmail: str('adminEmail'),
  buildCacheDays: num('buildCacheDays'),
  amiParameter: str('amiParameter'),
  amiId: str('amiId'),
  amiOwner: str('amiOwner'),
  reaperIntervalMinutes: num('reaperIntervalMinutes'),
  logRetentionDays: num('logRetentionDays'),
  alarmEmail: str('alarmEmail'),
  githubTokenSecretName: str('githubTokenSecretName'),
  githubAllowedUsers: list('githubAllowedUsers'),
  githubClientId: str('githubClientId'),
  githubOrgs: list('githubOrgs'),
  githubMaintainers: list('githubMaintainers'),
  domainName: str('domainName'),
  certificateArn: str('certificateArn'),
  hostedZoneId: str('hostedZoneId'),
  hostedZoneName: str('hostedZoneName'),
  previewDomain: str('previewDomain'),
  acmeCa: str('acmeCa'),
};

new PreviewStack(app, 'DspacePreview', props);
