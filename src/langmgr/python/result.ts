/** What became of a target: the change, or the failure, after reading the image's metadata again. */
import { eq } from '@renovatebot/pep440';
import type { Executor } from '../../engine/types.js';
import type { LanguageResult } from '../types.js';
import { TYPE, type Target } from './plan.js';
import { installedVersions } from './site.js';

export const spec = (t: Target): string => `${t.name}==${t.version}`;

export function fail(out: LanguageResult, t: Target, installed: string | null, reason: string): void {
  out.failed.push({ type: TYPE, name: t.name, path: t.root, required: t.version, installed, reason });
}

export const change = (t: Target, to = t.version) => ({
  type: TYPE,
  name: t.name,
  path: t.root,
  from: t.from,
  to,
});

/** The version now in the image must equal the chosen one (one copy, PEP 440 equality). */
export async function validate(exec: Executor, t: Target, out: LanguageResult): Promise<void> {
  const now = await installedVersions(exec, t.loc.site, t.name);
  if (now.length === 1 && eq(now[0] ?? '', t.version)) out.changes.push(change(t));
  else if (now.length === 0) fail(out, t, null, `not found at ${t.loc.site} after the install`);
  else
    fail(out, t, now.join(', '), `installed version ${now.join(', ')} does not match required ${t.version}`);
}
