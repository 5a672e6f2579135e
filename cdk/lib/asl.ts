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
 * is never used (a renamed state would otherwise leave a function unreachable).
 */
export function substitute(path: string, values: Record<string, string>): string {
  const text = fs.readFileSync(path, 'utf8');
  readAsl(path);
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
