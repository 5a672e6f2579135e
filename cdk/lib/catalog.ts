/**
 * What the stack is made of, by name: the Lambda binaries, their timeouts, and the ASL
 * placeholders each one fills. One place, so the stack, the packaging script and the tests agree.
 */

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

/** The steps of the state machine and the reaper. */
export const STEPS: readonly StepSpec[] = [
  { bin: 'check-capacity', id: 'CheckCapacity', timeoutSeconds: 60, placeholder: 'CheckCapacityFunctionArn' },
  { bin: 'launch', id: 'Launch', timeoutSeconds: 120, placeholder: 'LaunchFunctionArn' },
  // Polls for up to health-poll-budget-seconds (600) per invocation; the ASL allows 900.
  { bin: 'check-health', id: 'CheckHealth', timeoutSeconds: 840, placeholder: 'CheckHealthFunctionArn' },
  { bin: 'record-url', id: 'RecordUrl', timeoutSeconds: 120, placeholder: 'RecordUrlFunctionArn' },
  { bin: 'await-expiry', id: 'AwaitExpiry', timeoutSeconds: 60, placeholder: 'AwaitExpiryFunctionArn' },
  { bin: 'extend', id: 'Extend', timeoutSeconds: 120, placeholder: 'ExtendFunctionArn' },
  // Returns a preview to its wait after a failed extend: time math only, no AWS call.
  { bin: 'resume-wait', id: 'ResumeWait', timeoutSeconds: 30, placeholder: 'ResumeWaitFunctionArn' },
  // Ending previews and releasing slots must work when the account's concurrency is used up.
  { bin: 'terminate', id: 'Terminate', timeoutSeconds: 120, placeholder: 'TerminateFunctionArn', reservedConcurrency: 5 },
  { bin: 'reaper', id: 'Reaper', timeoutSeconds: 300, reservedConcurrency: 2 },
];

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
 * there (tasks/src/config.rs RUNTIME_KEYS): any other key is ignored, with IGNORED_DIAL_LOG.
 */
export const RUNTIME_PARAMETER_KEYS = [
  'max-live',
  'instance-type',
  'default-ttl-minutes',
  'max-lifetime-minutes',
  'health-deadline-minutes',
  'use-spot',
] as const;

/** `max-live` → `PREVIEW_MAX_LIVE` (tasks/src/config.rs env_name). */
export function envName(key: string): string {
  return `PREVIEW_${key.replace(/-/g, '_').toUpperCase()}`;
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
