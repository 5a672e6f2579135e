import * as fs from 'node:fs';

/** `${Name}` placeholders, as CloudFormation's Fn::Sub and Step Functions' substitutions write them. */
const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

/** The placeholder names used in an ASL document, sorted, each once. */
export function placeholders(asl: string): string[] {
  return [...new Set([...asl.matchAll(PLACEHOLDER)].map((m) => m[1]))].sort();
}

/**
 * Reads the ASL file and fills every `${Name}` with `values[Name]` (which may be CDK tokens).
 * Throws when the file is not JSON, when it uses a placeholder that has no value, or when a value
 * is never used (a renamed state would otherwise leave a function unreachable). The Task states
 * that invoke one of `passInstead` (placeholder names of functions this deployment leaves out)
 * become Pass states first: see `withPassStates`.
 */
export function substitute(path: string, values: Record<string, string>, passInstead: readonly string[] = []): string {
  readAsl(path);
  const text = withPassStates(fs.readFileSync(path, 'utf8'), passInstead);
  const used = placeholders(text);
  const missing = used.filter((name) => !(name in values));
  if (missing.length > 0) {
    throw new Error(
      `${path} uses placeholders the stack does not fill: ${missing.map((n) => '${' + n + '}').join(', ')}` +
        ` (known: ${Object.keys(values).sort().join(', ')})`,
    );
  }
  const unused = Object.keys(values).filter((name) => !used.includes(name));
  if (unused.length > 0) {
    throw new Error(`${path} no longer uses ${unused.map((n) => '${' + n + '}').join(', ')}: update lib/catalog.ts`);
  }
  const out = text.replace(PLACEHOLDER, (_, name: string) => values[name]);
  if (/\$\{[^}]*\}/.test(out.replace(/\$\{Token\[[^\]]*\]\}/g, ''))) {
    throw new Error(`${path}: a placeholder stayed unresolved after substitution`);
  }
  return out;
}

/** The ASL document, parsed; the error names the file when it is not JSON. */
export function readAsl(path: string): any {
  try {
    return JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * The ASL text with every top-level Task state that invokes `${Name}` for a name in `placeholders`
 * (as its Resource, or as the lambda:invoke integration's FunctionName) replaced by a Pass state
 * that keeps its input and its Next or End. Only for tasks whose result the workflow drops
 * (ResultPath null): throws for any other, which would change what the next state reads.
 */
export function withPassStates(asl: string, placeholders: readonly string[]): string {
  if (placeholders.length === 0) return asl;
  const doc = JSON.parse(asl);
  const refs = new Set(placeholders.map((p) => '${' + p + '}'));
  for (const [name, state] of Object.entries(doc.States as Record<string, any>)) {
    if (state.Type !== 'Task' || !(refs.has(state.Resource) || refs.has(state.Parameters?.FunctionName))) continue;
    if (state.ResultPath !== null) throw new Error(`${name} keeps its result (ResultPath is not null): it cannot be left out`);
    doc.States[name] = {
      Type: 'Pass',
      Comment: `Left out in this deployment (it has no function for ${name}).`,
      ResultPath: null,
      ...(state.End ? { End: true } : { Next: state.Next }),
    };
  }
  return JSON.stringify(doc, null, 2);
}
