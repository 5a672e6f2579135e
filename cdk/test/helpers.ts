/** Shared test set-up: fake Lambda artifacts, a synthesized stack, and template walkers. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import { OTHER_FUNCTIONS, STEPS, WEB_BIN, namePrefix } from '../lib/catalog';
import { PreviewStack, PreviewStackProps, REPO_ROOT } from '../lib/preview-stack';

export { REPO_ROOT };
export const CDK_DIR = path.resolve(__dirname, '..');
export const CDK_JSON_CONTEXT = JSON.parse(fs.readFileSync(path.join(CDK_DIR, 'cdk.json'), 'utf8')).context;
export const ALL_BINS = [...STEPS.map((s) => s.bin), WEB_BIN, ...OTHER_FUNCTIONS.map((f) => f.bin)];

/** A folder with `<bin>/bootstrap` placeholders for every binary (no Rust compiled in tests). */
export function fakeLambdaDir(bins: string[] = ALL_BINS): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dspace-preview-lambdas-'));
  for (const bin of bins) {
    fs.mkdirSync(path.join(dir, bin));
    fs.writeFileSync(path.join(dir, bin, 'bootstrap'), '#!/bin/sh\necho placeholder\n', { mode: 0o755 });
  }
  return dir;
}

let shared: string | undefined;
/** One fake artifact folder per test process. */
export function sharedLambdaDir(): string {
  return (shared ??= fakeLambdaDir());
}

export type Props = Omit<PreviewStackProps, 'lambdaDir'> & { lambdaDir?: string };

/** Synthesizes a stack in-process (same region for every test, so ARNs are comparable). */
export function synth(props: Props = {}): { stack: PreviewStack; template: Template; json: any } {
  const app = new cdk.App({
    outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'dspace-preview-cdkout-')),
    context: CDK_JSON_CONTEXT, // the feature flags the CLI uses
  });
  const stack = new PreviewStack(app, 'Test', {
    env: { region: 'eu-west-1' },
    ...props,
    lambdaDir: props.lambdaDir ?? sharedLambdaDir(),
  });
  const template = Template.fromStack(stack);
  return { stack, template, json: template.toJSON() };
}

const cache = new Map<string, ReturnType<typeof synth>>();
/** The default stack, synthesized once per test file. */
export function defaultStack(): ReturnType<typeof synth> {
  if (!cache.has('default')) cache.set('default', synth());
  return cache.get('default')!;
}

/** Resources of one type: [logicalId, resource][]. */
export function resourcesOfType(json: any, type: string): [string, any][] {
  return Object.entries(json.Resources as Record<string, any>).filter(([, r]) => r.Type === type);
}

/**
 * Renders a CloudFormation value as a string: Fn::Join is joined, `{Fn::GetAtt:[X,Arn]}` becomes
 * `<<GetAtt:X.Arn>>`, `{Ref:X}` becomes `<<Ref:X>>`; pseudo parameters become readable values.
 * `known` gives what CloudFormation would return for some (`X` for Ref, `X.Arn` for GetAtt), so
 * Fn::Select over Fn::Split of them (CDK's ARN parsing) renders too.
 */
export function render(value: any, known: Record<string, string> = {}): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value && typeof value === 'object') {
    if ('Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'];
      return (parts as any[]).map((p) => render(p, known)).join(sep);
    }
    if ('Fn::Select' in value && 'Fn::Split' in value['Fn::Select'][1]) {
      const [index, { 'Fn::Split': [sep, source] }] = value['Fn::Select'];
      return render(source, known).split(sep)[Number(index)];
    }
    if ('Fn::GetAtt' in value) {
      const attribute = value['Fn::GetAtt'].join('.');
      return known[attribute] ?? `<<GetAtt:${attribute}>>`;
    }
    if ('Ref' in value) {
      const pseudo: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::Region': 'eu-west-1',
        'AWS::AccountId': '111122223333',
        'AWS::URLSuffix': 'amazonaws.com',
      };
      return pseudo[value.Ref] ?? known[value.Ref] ?? `<<Ref:${value.Ref}>>`;
    }
  }
  return JSON.stringify(value);
}

export interface Statement {
  /** Where it came from: the policy's or role's logical id. */
  owner: string;
  /** The roles it is attached to (logical ids). */
  roles: string[];
  sid?: string;
  effect: string;
  actions: string[];
  resources: string[];
  condition?: Record<string, Record<string, any>>;
}

/** Every IAM statement of the template: AWS::IAM::Policy, inline role policies, managed policies. */
export function statements(json: any): Statement[] {
  const out: Statement[] = [];
  const push = (owner: string, roles: string[], doc: any) => {
    for (const s of doc.Statement as any[]) {
      const arr = (v: any) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
      out.push({
        owner,
        roles,
        sid: s.Sid,
        effect: s.Effect,
        actions: arr(s.Action),
        resources: arr(s.Resource).map((r) => render(r)),
        condition: s.Condition,
      });
    }
  };
  for (const [id, r] of Object.entries(json.Resources as Record<string, any>)) {
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
      push(id, (r.Properties.Roles ?? []).map((x: any) => x.Ref), r.Properties.PolicyDocument);
    }
    if (r.Type === 'AWS::IAM::Role') {
      for (const p of r.Properties.Policies ?? []) push(id, [id], p.PolicyDocument);
    }
  }
  return out;
}

/** The logical id of the role a function runs as. */
export function roleOfFunction(json: any, functionLogicalId: string): string {
  return json.Resources[functionLogicalId].Properties.Role['Fn::GetAtt'][0];
}

/** The logical id of the function with this name suffix (`<deployment>-<bin>`). */
export function functionId(json: any, bin: string, deployment = 'dspace-preview'): string {
  const name = `${namePrefix(deployment)}-${bin}`;
  const hit = resourcesOfType(json, 'AWS::Lambda::Function').find(([, r]) => r.Properties.FunctionName === name);
  if (!hit) throw new Error(`no function ${name}`);
  return hit[0];
}

/** Statements attached to one function's role. */
export function statementsOf(json: any, bin: string, deployment = 'dspace-preview'): Statement[] {
  const role = roleOfFunction(json, functionId(json, bin, deployment));
  return statements(json).filter((s) => s.roles.includes(role));
}

/** Does an IAM action pattern (with * and ?) match an action? */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+^${}()|[\]\\?]/g, '\\$&')).join('.*') + '$', 'i');
  return re.test(action);
}

/** Allow statements whose actions cover `action` (wildcards included). */
export function granting(all: Statement[], action: string): Statement[] {
  return all.filter((s) => s.effect === 'Allow' && s.actions.some((a) => actionMatches(a, action)));
}

/** Does an IAM resource pattern (with * and ?, case-sensitive) match an ARN? */
export function arnMatches(pattern: string, arn: string): boolean {
  const re = new RegExp(
    '^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$',
  );
  return re.test(arn);
}

/** The Allow statements letting `action` on `arn` (no Deny evaluated). */
export function allows(list: Statement[], action: string, arn: string): Statement[] {
  return granting(list, action).filter((s) => s.resources.some((r) => arnMatches(r, arn)));
}

/** The logical id of the role in the previews' instance profile. */
export function instanceRoleId(json: any): string {
  const profiles = resourcesOfType(json, 'AWS::IAM::InstanceProfile');
  if (profiles.length !== 1) throw new Error(`expected one instance profile, found ${profiles.length}`);
  return profiles[0][1].Properties.Roles[0].Ref;
}

/** What the SSM agent on a preview instance needs for Run Command and Session Manager (the
 * tests' own list, so a change to the stack's is a change the tests see). */
export const SSM_AGENT_ACTIONS = [
  'ec2messages:AcknowledgeMessage',
  'ec2messages:DeleteMessage',
  'ec2messages:FailMessage',
  'ec2messages:GetEndpoint',
  'ec2messages:GetMessages',
  'ec2messages:SendReply',
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
];

/** What a preview instance may do in the build cache repository, besides logging in (pull and push). */
export const BUILD_CACHE_ACTIONS = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:BatchGetImage',
  'ecr:CompleteLayerUpload',
  'ecr:GetDownloadUrlForLayer',
  'ecr:InitiateLayerUpload',
  'ecr:PutImage',
  'ecr:UploadLayerPart',
];
