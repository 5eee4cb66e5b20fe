/**
 * Package names from a report end up as arguments of apt/apk/dnf: only allow what package names can
 * contain (we pass argv arrays, never shell strings, but a hostile report still fails loudly).
 */
import { CopaError } from '../../errors.js';

export const PACKAGE_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9.+\-:~_]*$/;
export const MAX_PACKAGE_NAME_LENGTH = 256;

const HINT =
  'package names start with a letter or digit and contain only letters, digits and . + - : ~ _; ' +
  'check where the report came from';

/** The name as shown in a one-line message: quoted, control characters escaped, long names cut. */
function shown(name: string): string {
  const cut = name.length > 80 ? name.slice(0, 80) + '…' : name;
  return JSON.stringify(cut);
}

export function validatePackageName(name: string): void {
  if (name.length > MAX_PACKAGE_NAME_LENGTH) {
    throw new CopaError(
      'PACKAGE_NAME',
      `package name ${shown(name)} from the report is longer than ${MAX_PACKAGE_NAME_LENGTH} characters`,
      { hint: HINT },
    );
  }
  if (!PACKAGE_NAME_PATTERN.test(name)) {
    throw new CopaError(
      'PACKAGE_NAME',
      `package name ${shown(name)} from the report contains characters that are not allowed`,
      { hint: HINT },
    );
  }
}

/** Validate every name; the first bad one fails the whole run (as in Copa). */
export function validatePackageNames(packages: readonly { name: string }[]): void {
  for (const p of packages) validatePackageName(p.name);
}
