import * as fs from 'node:fs';
import * as path from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * Where a Lambda binary's code is: `<dir>/<bin>/bootstrap.zip` (what `cargo lambda build
 * --output-format zip` writes, see scripts/package-lambdas.sh) or a folder `<dir>/<bin>/` holding
 * an executable `bootstrap`. Undefined when neither exists.
 */
export function artifactPath(dir: string, bin: string): string | undefined {
  const zip = path.join(dir, bin, 'bootstrap.zip');
  if (fs.existsSync(zip)) return zip;
  const folder = path.join(dir, bin);
  if (fs.existsSync(path.join(folder, 'bootstrap'))) return folder;
  return undefined;
}

/** The code of one Lambda binary; throws, naming the packaging command, when it was not built. */
export function lambdaCode(dir: string, bin: string): lambda.Code {
  const found = artifactPath(dir, bin);
  if (found === undefined) {
    throw new Error(
      `no Lambda code for '${bin}' in ${dir} (looked for ${bin}/bootstrap.zip and ${bin}/bootstrap): ` +
        'run cdk/scripts/package-lambdas.sh first, or point -c lambdaDir=... at the built zips',
    );
  }
  return lambda.Code.fromAsset(found);
}
