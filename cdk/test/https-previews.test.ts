import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Annotations, Match } from 'aws-cdk-lib/assertions';

import { OTHER_FUNCTIONS, STEPS, envName } from '../lib/catalog';
import { defaultStack, functionId, granting, instanceRoleId, resourcesOfType, statements, statementsOf, synth } from './helpers';

/** HTTPS previews (issue 15): the Route 53 zone, the suffix, the dials, the grants and port 443. */
const ZONE = 'Z0123456789ABCDEFGHIJ';
const ZONE_ARN = `arn:aws:route53:::hostedzone/${ZONE}`;
const SUFFIX = 'previews.example.org';
const STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';
const WITH_DOMAIN = { previewDomain: SUFFIX, hostedZoneId: ZONE, hostedZoneName: 'example.org', acmeCa: STAGING };

const DOMAIN_ENV = [envName('hosted-zone-id'), envName('domain-name'), envName('acme-ca')];
const UPSERTING = ['launch', 'check-health', 'record-url'];
const DELETING = ['terminate', 'reaper'];
const ALL_FUNCTIONS = [...STEPS.map((s) => s.bin), 'web', ...OTHER_FUNCTIONS.map((f) => f.name)];

/** The domain dials each function's environment has, by function name suffix. */
function domainEnvByFunction(json: any): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const bin of ALL_FUNCTIONS) {
    const env = json.Resources[functionId(json, bin)].Properties.Environment.Variables;
    out[bin] = Object.fromEntries(DOMAIN_ENV.filter((k) => k in env).map((k) => [k, env[k]]));
  }
  return out;
}

/** The Route 53 actions of every statement attached to `role`. */
function route53Actions(json: any, role: string): string[] {
  return statements(json)
    .filter((s) => s.roles.includes(role))
    .flatMap((s) => s.actions)
    .filter((a) => a.toLowerCase().startsWith('route53') || a === '*');
}

/** Ingress ports of the previews' security group. */
function ingressPorts(json: any): number[] {
  const [[, group]] = resourcesOfType(json, 'AWS::EC2::SecurityGroup');
  return [...new Set<number>(group.Properties.SecurityGroupIngress.map((r: any) => r.FromPort))].sort((a, b) => a - b);
}

describe('HTTPS previews with a domain', () => {
  const { json, stack } = synth(WITH_DOMAIN);

  it('gives the zone and suffix to the steps that make or delete records, the ACME directory to launch alone', () => {
    const dns = { PREVIEW_HOSTED_ZONE_ID: ZONE, PREVIEW_DOMAIN_NAME: SUFFIX };
    const expected: Record<string, Record<string, string>> = {};
    for (const bin of ALL_FUNCTIONS) expected[bin] = {};
    for (const bin of [...UPSERTING, ...DELETING]) expected[bin] = { ...dns };
    expected.launch.PREVIEW_ACME_CA = STAGING;
    assert.deepEqual(domainEnvByFunction(json), expected);
  });

  it('normalizes the zone id and the suffix the way the steps compare them', () => {
    const { json: j } = synth({ ...WITH_DOMAIN, previewDomain: 'Previews.Example.ORG.', hostedZoneId: `/hostedzone/${ZONE}`, acmeCa: undefined });
    const env = domainEnvByFunction(j);
    assert.deepEqual(env.terminate, { PREVIEW_HOSTED_ZONE_ID: ZONE, PREVIEW_DOMAIN_NAME: SUFFIX });
    assert.equal(env.launch.PREVIEW_ACME_CA, undefined, 'no acmeCa: the steps default to Let\'s Encrypt production');
  });

  /** One function's Route 53 statements, as compared below. */
  const route53Of = (bin: string) =>
    statementsOf(json, bin)
      .filter((s) => s.actions.some((a) => a.startsWith('route53:')))
      .map((s) => ({ sid: s.sid, actions: s.actions, resources: s.resources, condition: s.condition }));
  /** The ChangeResourceRecordSets statement: the zone, A records under the suffix, `action` only. */
  const change = (sid: string, action: string) => ({
    sid,
    actions: ['route53:ChangeResourceRecordSets'],
    resources: [ZONE_ARN],
    condition: {
      'ForAllValues:StringLike': { 'route53:ChangeResourceRecordSetsNormalizedRecordNames': [`*.${SUFFIX}`] },
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsRecordTypes': ['A'],
        'route53:ChangeResourceRecordSetsActions': [action],
      },
    },
  });

  it('lets launch, check-health and record-url UPSERT A records under the suffix in the zone, and nothing else of Route 53', () => {
    for (const bin of UPSERTING) assert.deepEqual(route53Of(bin), [change('UpsertPreviewRecords', 'UPSERT')], bin);
  });

  it('lets terminate and the reaper list the zone and DELETE A records under the suffix, and nothing else of Route 53', () => {
    const list = { sid: 'ListPreviewRecords', actions: ['route53:ListResourceRecordSets'], resources: [ZONE_ARN], condition: undefined };
    for (const bin of DELETING) assert.deepEqual(route53Of(bin), [change('DeletePreviewRecords', 'DELETE'), list], bin);
  });

  it('grants Route 53 to no other role: not the instances, the web app, PR status or the other steps', () => {
    const granted = new Set([...UPSERTING, ...DELETING].map((bin) => json.Resources[functionId(json, bin)].Properties.Role['Fn::GetAtt'][0]));
    const roles = resourcesOfType(json, 'AWS::IAM::Role').map(([id]) => id);
    for (const role of roles) {
      if (granted.has(role)) continue;
      assert.deepEqual(route53Actions(json, role), [], `${role} may use Route 53`);
    }
    assert.deepEqual(route53Actions(json, instanceRoleId(json)), []);
    const webRole = json.Resources[functionId(json, 'web')].Properties.Role['Fn::GetAtt'][0];
    assert.deepEqual(route53Actions(json, webRole), []);
    // Every Route 53 grant is on the one zone.
    for (const s of granting(statements(json), 'route53:ChangeResourceRecordSets')) assert.deepEqual(s.resources, [ZONE_ARN], s.sid);
    for (const s of granting(statements(json), 'route53:ListResourceRecordSets')) assert.deepEqual(s.resources, [ZONE_ARN], s.sid);
  });

  it('opens 443 to the same sources as 80, which stays', () => {
    assert.deepEqual(ingressPorts(json), [80, 443]);
    const narrowed = synth({ ...WITH_DOMAIN, allowedCidrs: ['192.0.2.0/24', '2001:db8::/32'] }).json;
    const [[, group]] = resourcesOfType(narrowed, 'AWS::EC2::SecurityGroup');
    const sources = (port: number) =>
      group.Properties.SecurityGroupIngress.filter((r: any) => r.FromPort === port && r.ToPort === port && r.IpProtocol === 'tcp')
        .map((r: any) => r.CidrIp ?? r.CidrIpv6)
        .sort();
    assert.deepEqual(sources(443), ['192.0.2.0/24', '2001:db8::/32']);
    assert.deepEqual(sources(443), sources(80));
  });

  it('synthesizes without warnings, with and without the web app on its own name in the same zone', () => {
    const variants = [
      WITH_DOMAIN,
      {
        ...WITH_DOMAIN,
        domainName: 'dspace-preview.example.org',
        certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/abc',
      },
      // A zone of the previews' own, the suffix its apex.
      { previewDomain: SUFFIX, hostedZoneId: ZONE, hostedZoneName: `${SUFFIX}.` },
    ];
    for (const props of variants) {
      const s = props === WITH_DOMAIN ? stack : synth(props).stack;
      assert.deepEqual(Annotations.fromStack(s).findWarning('*', Match.anyValue()), [], JSON.stringify(props));
      assert.deepEqual(Annotations.fromStack(s).findError('*', Match.anyValue()), [], JSON.stringify(props));
    }
  });
});

describe('HTTPS previews: what synth refuses', () => {
  it('refuses a suffix outside the zone, naming both', () => {
    assert.throws(() => synth({ ...WITH_DOMAIN, previewDomain: 'previews.example.net' }), /previewDomain 'previews\.example\.net' is not in the hosted zone 'example\.org'/);
    // A suffix that only ends like the zone's name.
    assert.throws(() => synth({ ...WITH_DOMAIN, previewDomain: 'badexample.org' }), /not in the hosted zone/);
    // A parent of the zone's name.
    assert.throws(() => synth({ ...WITH_DOMAIN, hostedZoneName: SUFFIX, previewDomain: 'example.org' }), /not in the hosted zone/);
  });

  it('refuses a suffix without a zone id or zone name, saying what to set', () => {
    assert.throws(() => synth({ previewDomain: SUFFIX, hostedZoneName: 'example.org' }), /previewDomain 'previews\.example\.org' needs .*set hostedZoneId/);
    assert.throws(() => synth({ previewDomain: SUFFIX, hostedZoneId: ZONE }), /set hostedZoneId \(Z…\) and hostedZoneName/);
    assert.throws(() => synth({ ...WITH_DOMAIN, hostedZoneId: 'not a zone' }), /hostedZoneId 'not a zone' is not a Route 53 hosted zone id/);
  });

  it('refuses what the steps would refuse at their first invocation, and acmeCa without a domain', () => {
    assert.throws(() => synth({ ...WITH_DOMAIN, previewDomain: 'bad_label.example.org' }), /the label 'bad_label'/);
    assert.throws(() => synth({ ...WITH_DOMAIN, previewDomain: `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.example.org` }), /at most 189/);
    assert.throws(() => synth({ ...WITH_DOMAIN, acmeCa: 'http://acme.example.org/directory' }), /acmeCa .* is not an https URL/);
    assert.throws(() => synth({ acmeCa: STAGING }), /acmeCa is only used with previewDomain/);
  });

  it("refuses the web app's name under the suffix, where the steps may change and delete A records", () => {
    const cert = { certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/abc' };
    for (const name of [`app.${SUFFIX}`, `a.b.${SUFFIX}`]) {
      assert.throws(() => synth({ ...WITH_DOMAIN, ...cert, domainName: name }), /is under previewDomain/, name);
    }
  });
});

describe('HTTPS previews without a domain', () => {
  const { json } = defaultStack();

  it('grants Route 53 to nobody', () => {
    const found = statements(json).filter((s) => s.actions.some((a) => a.toLowerCase().startsWith('route53')));
    assert.deepEqual(found, []);
  });

  it('opens no 443', () => {
    assert.deepEqual(ingressPorts(json), [80]);
  });

  it('gives no function the domain dials', () => {
    for (const [bin, env] of Object.entries(domainEnvByFunction(json))) assert.deepEqual(env, {}, bin);
  });

  it('keeps the web app\'s own alias records as they were, with no Route 53 grant', () => {
    const { json: j } = synth({
      domainName: 'dspace-preview.example.org',
      certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/abc',
      hostedZoneId: ZONE,
      hostedZoneName: 'example.org',
    });
    assert.equal(resourcesOfType(j, 'AWS::Route53::RecordSet').length, 2);
    assert.deepEqual(ingressPorts(j), [80]);
    assert.deepEqual(statements(j).filter((s) => s.actions.some((a) => a.startsWith('route53'))), []);
    for (const [bin, env] of Object.entries(domainEnvByFunction(j))) assert.deepEqual(env, {}, bin);
  });
});
