import * as cdk from 'aws-cdk-lib';

import { envName } from '../catalog';
import { StatementSpec } from './instance-access';

/**
 * HTTPS previews with friendly names (issue 15): the Route 53 zone and the suffix the previews'
 * names go under, checked. The steps read them as the dials `hosted-zone-id` and `domain-name`
 * (tasks/src/config.rs), the launch step also `acme-ca`.
 */
export interface PreviewDomain {
  /** The hosted zone id, without `/hostedzone/` (`Z…`). */
  readonly hostedZoneId: string;
  /** The previews' DNS suffix: lower case, no trailing dot (`previews.example.org`). */
  readonly suffix: string;
  /** The ACME directory the instances get their certificates from; Let's Encrypt production when unset. */
  readonly acmeCa?: string;
}

/** What `resolvePreviewDomain` reads: the stack's props of the same names. */
export interface PreviewDomainProps {
  readonly previewDomain?: string;
  readonly acmeCa?: string;
  readonly hostedZoneId?: string;
  readonly hostedZoneName?: string;
  /** The web app's own name (its alias record is in the same zone). */
  readonly domainName?: string;
}

/** tasks/src/domain/public_name.rs MAX_SUFFIX: 253 minus one full label and its dot. */
const MAX_SUFFIX = 253 - 63 - 1;
/** One DNS label as tasks/src/domain/public_name.rs `valid_label` takes it. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** What ami/files/lib/https.sh accepts as PREVIEW_ACME_CA. */
const ACME_CA = /^https:\/\/[A-Za-z0-9.-]+(:[0-9]+)?(\/[A-Za-z0-9._~/%-]*)?$/;

/** A DNS name as Route 53 and the steps compare it: trimmed, lower case, no trailing dot. */
function normalize(name: string): string {
  return name.trim().replace(/\.+$/, '').toLowerCase();
}

/**
 * The previews' domain from the props, or undefined without `previewDomain` (previews stay plain
 * HTTP on their EC2 names). Throws, saying what to set, for a suffix the steps would refuse at
 * their first invocation or that the zone cannot hold.
 */
export function resolvePreviewDomain(props: PreviewDomainProps): PreviewDomain | undefined {
  const given = props.previewDomain?.trim();
  if (!given) {
    if (props.acmeCa?.trim()) throw new Error('acmeCa is only used with previewDomain (HTTPS previews): set previewDomain too, or leave acmeCa out');
    return undefined;
  }
  const suffix = normalize(given);
  const zoneName = props.hostedZoneName === undefined ? '' : normalize(props.hostedZoneName);
  const zoneId = (props.hostedZoneId ?? '').trim().replace(/^\/hostedzone\//, '');
  if (!zoneId || !zoneName) {
    throw new Error(
      `previewDomain '${suffix}' needs the Route 53 public hosted zone that holds it: set hostedZoneId (Z…) and hostedZoneName ` +
        `(the zone's name: '${suffix}' itself or a parent of it), e.g. -c hostedZoneId=Z0123456789ABCDEFGHIJ -c hostedZoneName=${suffix}`,
    );
  }
  if (!/^[A-Z0-9]{1,32}$/.test(zoneId)) {
    throw new Error(`hostedZoneId '${props.hostedZoneId}' is not a Route 53 hosted zone id (like Z0123456789ABCDEFGHIJ)`);
  }
  if (suffix !== zoneName && !suffix.endsWith(`.${zoneName}`)) {
    throw new Error(
      `previewDomain '${suffix}' is not in the hosted zone '${zoneName}' (hostedZoneName): set previewDomain to '${zoneName}' or a name ` +
        `under it (e.g. previews.${zoneName}), or hostedZoneId/hostedZoneName to the zone that holds '${suffix}'`,
    );
  }
  if (suffix.length > MAX_SUFFIX) {
    throw new Error(`previewDomain '${suffix}' is ${suffix.length} characters; at most ${MAX_SUFFIX} leave room for a preview's label`);
  }
  const bad = suffix.split('.').find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    throw new Error(`previewDomain '${suffix}' has the label '${bad}': each must be 1 to 63 of a-z, 0-9 and -, not starting or ending with -`);
  }
  // The steps may UPSERT and DELETE any A record under the suffix (IAM cannot tell a preview's
  // name from another), so the web app's alias record must not live there.
  const web = props.domainName === undefined ? '' : normalize(props.domainName);
  if (web.endsWith(`.${suffix}`)) {
    throw new Error(
      `domainName '${web}' is under previewDomain '${suffix}', where the steps may change and delete A records: ` +
        `give the web app a name outside it (e.g. ${suffix}) or the previews a suffix of their own (e.g. p.${suffix})`,
    );
  }
  const acmeCa = props.acmeCa?.trim() || undefined;
  if (acmeCa !== undefined && !ACME_CA.test(acmeCa)) {
    throw new Error(`acmeCa '${acmeCa}' is not an https URL of an ACME directory (e.g. https://acme-staging-v02.api.letsencrypt.org/directory)`);
  }
  return { hostedZoneId: zoneId, suffix, acmeCa };
}

/** The steps that make a preview's A record (UPSERT, no listing: dns::upsert). */
export const UPSERTING_STEPS = ['launch', 'check-health', 'record-url'] as const;
/** The steps that delete A records: read first, then DELETE (dns::delete, dns::delete_strays). */
export const DELETING_STEPS = ['terminate', 'reaper'] as const;

/**
 * The domain dials' environment for each step that reads them (the others get none): the zone
 * and suffix for every step that reads or writes records, the ACME directory for the launch step
 * alone (it puts it into the user data).
 */
export function previewDomainEnv(domain: PreviewDomain | undefined): Record<string, Record<string, string>> {
  if (!domain) return {};
  const dns = { [envName('hosted-zone-id')]: domain.hostedZoneId, [envName('domain-name')]: domain.suffix };
  const out: Record<string, Record<string, string>> = {};
  for (const bin of [...UPSERTING_STEPS, ...DELETING_STEPS]) out[bin] = { ...dns };
  if (domain.acmeCa) out.launch[envName('acme-ca')] = domain.acmeCa;
  return out;
}

/**
 * Route 53, least privilege: changes in the one zone, to A records under the suffix only, UPSERT
 * for the steps that make records and DELETE for those that remove them; listing for the latter
 * alone. None without a domain; never for the instances or the web app.
 */
export function previewDomainGrants(stack: cdk.Stack, domain: PreviewDomain | undefined): (StatementSpec & { steps: readonly string[] })[] {
  if (!domain) return [];
  const zone = stack.formatArn({ service: 'route53', region: '', account: '', resource: 'hostedzone', resourceName: domain.hostedZoneId });
  const change = (steps: readonly string[], sid: string, action: 'UPSERT' | 'DELETE') => ({
    steps,
    sid,
    actions: ['route53:ChangeResourceRecordSets'],
    resources: [zone],
    conditions: {
      // Normalized names are lower case without the trailing dot.
      'ForAllValues:StringLike': { 'route53:ChangeResourceRecordSetsNormalizedRecordNames': [`*.${domain.suffix}`] },
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsRecordTypes': ['A'],
        'route53:ChangeResourceRecordSetsActions': [action],
      },
    },
  });
  return [
    change(UPSERTING_STEPS, 'UpsertPreviewRecords', 'UPSERT'),
    change(DELETING_STEPS, 'DeletePreviewRecords', 'DELETE'),
    // DELETE must repeat the record exactly, so it is read first; the reaper lists to find strays.
    { steps: DELETING_STEPS, sid: 'ListPreviewRecords', actions: ['route53:ListResourceRecordSets'], resources: [zone] },
  ];
}
