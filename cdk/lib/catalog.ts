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

/** One Lambda binary of another crate than the steps', as catalog.json's `otherCrateFunctions` names it. */
export interface OtherCrateFunctionSpec extends StepSpec {
  /** The function's short name: the function name suffix (`<prefix>-<name>`). */
  readonly name: string;
  /** The crate's folder (`web`). */
  readonly crate: string;
}

/** What only the stack decides about each other-crate function, by name. */
const OTHER_CRATE_FUNCTIONS: Record<string, Omit<StepSpec, 'bin' | 'placeholder'>> = {
  // Queued by AnnounceReady (InvocationType Event: the state does not wait for it) and by the
  // execution's status changes; GitHub is retried inside, then given up with a log line.
  'pr-status': { id: 'PrStatus', timeoutSeconds: 60, reservedConcurrency: 5 },
};

/** The crates whose binaries cdk/scripts/package-lambdas.sh builds besides the steps'. */
const PACKAGED_CRATES = ['web'];

/** catalog.json's `otherCrateFunctions`, checked: the stack refuses to load when it is malformed. */
function otherCrateFunctions(raw: unknown): OtherCrateFunctionSpec[] {
  const where = 'lib/catalog.json otherCrateFunctions';
  if (!Array.isArray(raw)) throw new Error(`${where}: expected a list`);
  const out = raw.map((entry: any, i: number) => {
    for (const field of ['name', 'placeholder', 'crate', 'binary']) {
      if (typeof entry?.[field] !== 'string' || entry[field].length === 0) {
        throw new Error(`${where}[${i}]: '${field}' must be a non-empty string, got ${JSON.stringify(entry?.[field])}`);
      }
    }
    const { name, placeholder, crate, binary } = entry as Record<string, string>;
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`${where}[${i}]: name '${name}' is not kebab-case`);
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(placeholder)) throw new Error(`${where}[${i}]: placeholder '${placeholder}' is not a \${Name} name`);
    if (!/^[a-z][a-z0-9-]*$/.test(binary)) throw new Error(`${where}[${i}]: binary '${binary}' is not a binary name`);
    if (!PACKAGED_CRATES.includes(crate)) throw new Error(`${where}[${i}]: crate '${crate}' is not one cdk/scripts/package-lambdas.sh builds (${PACKAGED_CRATES.join(', ')})`);
    const facts = OTHER_CRATE_FUNCTIONS[name];
    if (!facts) throw new Error(`${where} has '${name}', which lib/catalog.ts gives no function (id, timeout)`);
    return { name, crate, bin: binary, placeholder, ...facts };
  });
  for (const name of Object.keys(OTHER_CRATE_FUNCTIONS)) {
    if (!out.some((f) => f.name === name)) throw new Error(`lib/catalog.ts gives a function to '${name}', which ${where} does not know`);
  }
  for (const key of ['name', 'bin', 'placeholder'] as const) {
    const seen = out.map((f) => f[key]);
    const twice = seen.find((v, i) => seen.indexOf(v) !== i);
    if (twice) throw new Error(`${where}: '${twice}' twice`);
  }
  return out;
}

/** The functions built from other crates than the steps' (the PR-status function), checked. */
export const OTHER_FUNCTIONS: readonly OtherCrateFunctionSpec[] = otherCrateFunctions((catalog as any).otherCrateFunctions);

/** The function that posts the PR comment and the GitHub deployment status (web crate). */
export const PR_STATUS: OtherCrateFunctionSpec = OTHER_FUNCTIONS.find((f) => f.name === 'pr-status')!;

/** For the tests: the check of `otherCrateFunctions`, on any value. */
export const checkOtherCrateFunctions = otherCrateFunctions;

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

/**
 * The Secrets Manager secret holding the GitHub App's client secret (sign in with GitHub).
 * Created with a random placeholder; the operator puts the app's client secret into it.
 */
export function githubClientSecretName(deployment: string): string {
  return `${namePrefix(deployment)}/web/github-client-secret`;
}

/**
 * The Secrets Manager secret holding the service's GitHub token (PR comments, deployments, the
 * PR picker and membership checks). Created blank (the Rust code then calls GitHub without a
 * token); the operator puts a GitHub App installation token or a fine-grained token into it.
 */
export function githubTokenSecretNameOf(deployment: string): string {
  return `${namePrefix(deployment)}/web/github-token`;
}

/** The path GitHub sends the browser back to after sign-in (web/src/github_signin.rs CALLBACK_PATH), after the web URL's `/`. */
export const GITHUB_CALLBACK_PATH = 'auth/github/callback';

/** The path of the web app's GitHub webhook (web/src/routes/webhook.rs), after the web URL's `/`. */
export const WEBHOOK_PATH = 'github/webhook';
