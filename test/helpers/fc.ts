/**
 * Shared settings of the property tests (fast-check). CI and `npm test` use a fixed seed and a small
 * number of runs, so a failure reproduces exactly; `npm run fuzz` (scripts/fuzz.ts) sets a random seed and
 * many runs through the same two variables and prints the seed:
 *   COPA_FC_SEED  integer seed (default 20261207)
 *   COPA_FC_RUNS  runs per property (default 100; a property may scale it, e.g. batches against dpkg)
 * To replay a failure: COPA_FC_SEED=<seed printed> COPA_FC_RUNS=<same> npx vitest run --project unit property
 */
import fc from 'fast-check';

export const DEFAULT_SEED = 20261207;
export const DEFAULT_RUNS = 100;

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}=${raw} is not an integer`);
  return n;
}

export const FC_SEED = envInt('COPA_FC_SEED', DEFAULT_SEED);
export const FC_RUNS = Math.max(1, envInt('COPA_FC_RUNS', DEFAULT_RUNS));

/** fast-check parameters: the shared seed, `scale` × COPA_FC_RUNS runs (at least 1). */
export function fcParams(scale = 1): { seed: number; numRuns: number } {
  return { seed: FC_SEED, numRuns: Math.max(1, Math.round(FC_RUNS * scale)) };
}

/** fc.assert with the shared seed and run count; the failure message names both for a replay. */
export function check<Ts>(property: fc.IProperty<Ts>, scale = 1): void {
  fc.assert(property, fcParams(scale));
}

/** Same for async properties. */
export async function checkAsync<Ts>(property: fc.IAsyncProperty<Ts>, scale = 1): Promise<void> {
  await fc.assert(property, fcParams(scale));
}

/** `count` values of `arb`, always the same for the same seed (for batches checked by one external tool). */
export function sample<T>(arb: fc.Arbitrary<T>, count: number, salt = 0): T[] {
  return fc.sample(arb, { seed: FC_SEED + salt, numRuns: count });
}
