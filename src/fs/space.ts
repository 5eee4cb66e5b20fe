/**
 * "No space left on device", said once and usefully: which directory (the layer cache or the work dir),
 * during which phase, how much was free when the run started and about how much it needed.
 */
import { statfs } from 'node:fs/promises';
import { CopaError } from '../errors.js';

export async function freeBytes(path: string): Promise<number | undefined> {
  try {
    const s = await statfs(path);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/** ENOSPC anywhere in the error or its causes (Node's code, or the text a package manager printed). */
export function isNoSpace(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (typeof e === 'object' && e !== null && !seen.has(e)) {
    seen.add(e);
    if ((e as { code?: unknown }).code === 'ENOSPC') return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && /ENOSPC|No space left on device/.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export interface SpacePlace {
  dir: string;
  /** "the layer cache" */
  label: string;
  /** the flag that moves it */
  flag: string;
  /** the next step, when it is not "point <flag> at a larger filesystem" */
  hint?: string;
}

const MB = 1_000_000;
const mb = (n: number): number => Math.max(1, Math.round(n / MB));

/**
 * The one-line error for a run that ran out of space in `place`: `freeAtStart` bytes were free; when the
 * failing phase's progress is known (`fraction` of its input consumed), the need is extrapolated from it.
 */
export function noSpaceError(
  err: unknown,
  place: SpacePlace,
  phase: string,
  freeAtStart: number | undefined,
  fraction?: number,
): CopaError {
  const needed =
    freeAtStart === undefined
      ? 'needed more than was free'
      : fraction !== undefined && fraction > 0 && fraction < 1
        ? `needed ~${mb(freeAtStart / fraction)} MB, ${mb(freeAtStart)} MB were free`
        : `needed more than the ${mb(freeAtStart)} MB that were free`;
  return new CopaError(
    'ENVIRONMENT',
    `no space left on ${place.dir} (${place.label}) during "${phase}": ${needed}`,
    { hint: place.hint ?? `free space there, or point ${place.flag} at a larger filesystem`, cause: err },
  );
}
