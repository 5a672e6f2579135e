/**
 * What the stack is made of, by name: the Lambda binaries, their timeouts, and the ASL
 * placeholders each one fills. One place, so the stack, the packaging script and the tests agree.
 * The dials and the steps themselves come from catalog.json, which the Rust code generates
 * (tasks/src/config.rs, tasks/src/registry.rs); only what the stack alone decides is stated here.
 */

import catalog from './catalog.json';

/** One dial of tasks/src/config.rs, as catalog.json describes it. */
export interface DialSpec {
  /** The kebab-case key (`max-live`). */
  readonly key: string;
  /** Its environment variable (`PREVIEW_MAX_LIVE`). */
  readonly env: string;
  /** Whether operators may change it at run time through SSM. */
  readonly runTime: boolean;
  /** How its value is written: text, number, bool, optional, list or dollars. */
  readonly kind: string;
  /** The steps' default, written the way the dial is set. */
  readonly default: string;
  /** Its documentation. */
  readonly doc: string;
}

/** Every dial the steps read, in the order tasks/src/config.rs declares them. */
export const DIALS: readonly DialSpec[] = catalog.dials;

/** The tag every preview instance carries with the deployment name (tasks/src/domain/tags.rs). */
export const STACK_TAG = 'dspace-preview:stack';

/**
 * Tags the steps change on a running instance (tasks/src/domain/tags.rs: PHASE, UI_URL, REST_URL,
 * EXPIRES_AT, ENDED). CreateTags after launch is limited to these keys, so no step can relabel
 * an instance as belonging to another deployment.
 */
export const MUTABLE_TAGS = [
  'dspace-preview:phase',
  'dspace-preview:ui-url',
  'dspace-preview:rest-url',
  'dspace-preview:expires-at',
  'dspace-preview:ended',
  // The boot phase and its start, written by check-health as the instance reports them.
  'dspace-preview:boot-phase',
  'dspace-preview:boot-phase-since',
];

/** The tag the Packer recipe puts on the AMI (ami/packer/dspace-preview.pkr.hcl). */
export const AMI_TAG = { key: 'Project', value: 'dspace-preview' };

/** One Lambda binary of the `preview-tasks` crate (tasks/src/bin/<bin>.rs). */
export interface StepSpec {
  /** The binary name: `target/lambda/<bin>/bootstrap.zip`, and the function name suffix. */
  readonly bin: string;
  /** The construct id. */
  readonly id: string;
  /**
   * Lambda timeout in seconds, strictly less than the ASL's TimeoutSeconds of every state that
   * runs it: a state that timed out must have no invocation left that could still write (say,
   * take a capacity slot after the Catch released it).
   */
  readonly timeoutSeconds: number;
  /** The ASL placeholder this function's ARN fills, if it is a state machine task. */
  readonly placeholder?: string;
  /** Concurrency reserved for this function alone, so a flood elsewhere in the account cannot starve it. */
  readonly reservedConcurrency?: number;
}

/** What only the stack decides about each step, by binary name. */
const STEP_FUNCTIONS: Record<string, Omit<StepSpec, 'bin' | 'placeholder'>> = {
  'check-capacity': { id: 'CheckCapacity', timeoutSeconds: 60 },
  launch: { id: 'Launch', timeoutSeconds: 120 },
  // Polls for up to health-poll-budget-seconds (600) per invocation; the ASL allows 900.
  'check-health': { id: 'CheckHealth', timeoutSeconds: 840 },
  'record-url': { id: 'RecordUrl', timeoutSeconds: 120 },
  'await-expiry': { id: 'AwaitExpiry', timeoutSeconds: 60 },
  extend: { id: 'Extend', timeoutSeconds: 120 },
  // Returns a preview to its wait after a failed extend: time math only, no AWS call.
  'resume-wait': { id: 'ResumeWait', timeoutSeconds: 30 },
  // Ending previews and releasing slots must work when the account's concurrency is used up.
  terminate: { id: 'Terminate', timeoutSeconds: 120, reservedConcurrency: 5 },
  reaper: { id: 'Reaper', timeoutSeconds: 300, reservedConcurrency: 2 },
};

/** The steps of the state machine and the reaper, in workflow order (catalog.json's). */
export const STEPS: readonly StepSpec[] = catalog.steps.map(({ bin, placeholder }) => {
  const facts = STEP_FUNCTIONS[bin];
  if (!facts) throw new Error(`lib/catalog.json has a step '${bin}' that lib/catalog.ts gives no function (id, timeout)`);
  return placeholder ? { bin, ...facts, placeholder } : { bin, ...facts };
});
for (const bin of Object.keys(STEP_FUNCTIONS)) {
  if (!STEPS.some((s) => s.bin === bin)) throw new Error(`lib/catalog.ts gives a function to '${bin}', which lib/catalog.json does not know`);
}

/**
 * What the steps and the web app log (tasks/src/config.rs) when an operator's run-time dial is
 * malformed or unknown and the deployment's value applies instead.
 */
export const IGNORED_DIAL_LOG = 'run-time dial ignored';

/** The CloudWatch namespace of the stack's own metrics. */
export const METRIC_NAMESPACE = 'DSpacePreview';

/** The web app's binary (crate `preview-web`). */
export const WEB_BIN = 'dspace-preview-web';

/**
 * The dials the stack writes to `/dspace-preview/<stack>/config/<key>`. Only run-time keys belong
 * there (`runTime` in catalog.json): any other key is ignored, with IGNORED_DIAL_LOG.
 */
export const RUNTIME_PARAMETER_KEYS = [
  'max-live',
  'instance-type',
  'default-ttl-minutes',
  'max-lifetime-minutes',
  'health-deadline-minutes',
  'use-spot',
] as const;

for (const key of RUNTIME_PARAMETER_KEYS) {
  if (!DIALS.some((d) => d.key === key && d.runTime)) throw new Error(`'${key}' is not a run-time dial in lib/catalog.json; every step would ignore it`);
}

/** `max-live` → `PREVIEW_MAX_LIVE`; throws for a key no dial has, which every step would ignore. */
export function envName(key: string): string {
  const dial = DIALS.find((d) => d.key === key);
  if (!dial) throw new Error(`no dial is called '${key}' in lib/catalog.json`);
  return dial.env;
}

/**
 * The prefix of function, state machine and stack names: the deployment name, with
 * `dspace-preview-` in front unless it already starts so (`staging` → `dspace-preview-staging`).
 */
export function namePrefix(deployment: string): string {
  return deployment === 'dspace-preview' || deployment.startsWith('dspace-preview-') ? deployment : `dspace-preview-${deployment}`;
}

/**
 * The Secrets Manager secret holding the web app's shared sign-in code. Generated at the first
 * deploy; the operator sets their own with `aws secretsmanager put-secret-value`.
 */
export function accessCodeSecretName(deployment: string): string {
  return `${namePrefix(deployment)}/web/access-code`;
}

/**
 * The Secrets Manager secret holding the GitHub webhook's secret (`X-Hub-Signature-256`).
 * Generated at the first deploy; give GitHub this value, or put your own with
 * `aws secretsmanager put-secret-value` (the web app reads it at start).
 */
export function webhookSecretName(deployment: string): string {
  return `${namePrefix(deployment)}/web/github-webhook-secret`;
}

/** The path of the web app's GitHub webhook (web/src/routes/webhook.rs), after the web URL's `/`. */
export const WEBHOOK_PATH = 'github/webhook';
