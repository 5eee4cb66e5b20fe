import { PULL_FLOOR, phaseFloorTargets } from './phase-floors.js';
import { find, ratioTarget, summarize, type ContenderResult, type Target } from './stats.js';

/**
 * Issue 14's speed targets (reported, never asserted; pure): our rows against the original Copa's of the
 * same workload and cache temperature, our peak RSS with the original Copa's beside it, issue 16's (our
 * BuildKit-engine rows against the original Copa on the same buildkitd, our client's RSS), our phases against
 * the floors measured beside them (bench/phase-floors.ts), and how cold time grows with the image's bytes.
 */

/** [ours, the original Copa's, limit, what] */
export const COPA_GO_LIMITS: ReadonlyArray<readonly [string, string, number, string]> = [
  ['copa-w1-cold', 'copa-go-w1-cold', 0.7, 'W1 cold'],
  ['copa-w1-warm', 'copa-go-w1-warm', 0.5, 'W1 warm'],
  ['copa-w2-cold', 'copa-go-w2-cold', 0.8, 'W2 (update-all) cold'],
  ['copa-w2-warm', 'copa-go-w2-warm', 0.6, 'W2 (update-all) warm'],
];

/** Issue 16: ours on the BuildKit engine against the original Copa on the same buildkitd (same report). */
export const BK_LIMITS: ReadonlyArray<readonly [string, string, number, string]> = [
  ['copa-bk-w1-cold', 'copa-go-w1-cold', 0.9, 'W1 cold'],
  ['copa-bk-w1-warm', 'copa-go-w1-warm', 0.9, 'W1 warm'],
];

export const RSS_LIMIT_MIB = 200;
/** our client's own peak RSS on the BuildKit engine (the daemon's is beside it, not part of the verdict) */
export const BK_CLIENT_RSS_LIMIT_MIB = 150;
/** the 10x image's marginal throughput ≥ this share of the pull + extract floor's */
export const THROUGHPUT_SHARE = 0.8;

export function copaGoTargets(results: readonly ContenderResult[]): Target[] {
  return COPA_GO_LIMITS.map(([ours, theirs, limit, what]) =>
    ratioTarget(
      `${what} ≤ ${limit}× Copa v0.14.2 ${what.split(' ').at(-1) ?? ''}`,
      find(results, ours),
      find(results, theirs),
      limit,
    ),
  );
}

export function bkTargets(results: readonly ContenderResult[]): Target[] {
  return BK_LIMITS.map(([ours, theirs, limit, what]) =>
    ratioTarget(
      `ours on BuildKit ${what} ≤ ${limit}× Copa v0.14.2 ${what.split(' ').at(-1) ?? ''} (same buildkitd)`,
      find(results, ours),
      find(results, theirs),
      limit,
    ),
  );
}

/**
 * Our client's peak RSS ≤ 150 MiB in every round of our BuildKit-engine rows (the largest decides), with
 * buildkitd's peak of that round beside it.
 */
export function bkClientRssTarget(results: readonly ContenderResult[]): Target {
  const name = `ours on BuildKit: client peak RSS ≤ ${BK_CLIENT_RSS_LIMIT_MIB} MiB (every copa-bk run)`;
  let worst: { client: number; daemon: number | undefined; id: string } | undefined;
  for (const r of results.filter((x) => x.family === 'copa-bk' && !x.unavailable))
    for (const x of r.rounds) {
      const client = x.detail?.['client peak RSS MiB'];
      if (client === undefined) continue;
      if (!worst || client > worst.client)
        worst = { client, daemon: x.detail?.['buildkitd peak RSS MiB'], id: r.id };
    }
  if (!worst) return { name, measured: 'n/a', met: undefined };
  const daemon = worst.daemon === undefined ? '' : `; buildkitd ${worst.daemon.toFixed(0)} MiB beside it`;
  return {
    name,
    measured: `${worst.client.toFixed(0)} MiB (${worst.id})${daemon}`,
    met: worst.client <= BK_CLIENT_RSS_LIMIT_MIB,
  };
}

const singleImage = (r: ContenderResult): boolean => r.image !== 'w4' && !r.unavailable;

/**
 * Peak RSS ≤ 200 MiB for every round of our single-image rows (the largest decides), with the original
 * Copa's largest client + buildkitd peak of its single-image rows beside it (not part of the verdict).
 */
export function rssTarget(results: readonly ContenderResult[]): Target {
  const name = `peak RSS ≤ ${RSS_LIMIT_MIB} MiB (every single-image copa run)`;
  let ours: { mib: number; id: string } | undefined;
  for (const r of results.filter((x) => x.family === 'copa' && singleImage(x)))
    for (const x of r.rounds)
      if (!ours || x.sample.rssMiB > ours.mib) ours = { mib: x.sample.rssMiB, id: r.id };
  let theirs: { client: number; daemon: number; id: string } | undefined;
  for (const r of results.filter((x) => x.family === 'copa-go' && singleImage(x)))
    for (const x of r.rounds) {
      const client = x.detail?.['client peak RSS MiB'];
      const daemon = x.detail?.['buildkitd peak RSS MiB'];
      if (client === undefined || daemon === undefined) continue;
      if (!theirs || client + daemon > theirs.client + theirs.daemon) theirs = { client, daemon, id: r.id };
    }
  const beside = theirs
    ? `; Copa v0.14.2: client ${theirs.client.toFixed(0)} + buildkitd ${theirs.daemon.toFixed(0)} = ${(theirs.client + theirs.daemon).toFixed(0)} MiB (${theirs.id})`
    : '';
  if (!ours) return { name, measured: `n/a${beside}`, met: undefined };
  return {
    name,
    measured: `${ours.mib.toFixed(0)} MiB (${ours.id})${beside}`,
    met: ours.mib <= RSS_LIMIT_MIB,
  };
}

export interface ImageBytes {
  small: { compressed: number };
  big: { compressed: number };
}

/**
 * The 10x image: cold time grows with its bytes at ≥ 80 % of the floor's throughput. Marginal throughput
 * = (compressed bytes 10x − small) / (wall copa-w1-10x-cold − wall copa-w1-cold); the floor's = the 10x
 * image's compressed bytes / its pull + extract floor (copa-w1-10x-cold's profile).
 */
export function throughputTarget(
  results: readonly ContenderResult[],
  images: ImageBytes | undefined,
): Target {
  const name = `W1 10x cold: marginal throughput ≥ ${THROUGHPUT_SHARE * 100} % of the pull + extract floor's`;
  const bigRow = find(results, 'copa-w1-10x-cold');
  const big = summarize(bigRow?.rounds ?? []);
  const small = summarize(find(results, 'copa-w1-cold')?.rounds ?? []);
  const floorS = bigRow?.phases?.[PULL_FLOOR];
  if (!images || !big || !small || floorS === undefined || floorS <= 0)
    return { name, measured: 'n/a', met: undefined };
  const mib = (n: number): string => (n / 2 ** 20).toFixed(0);
  const rate = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB/s`;
  const bytes = images.big.compressed - images.small.compressed;
  const dt = big.wallS - small.wallS;
  const floor = images.big.compressed / floorS;
  const floorText = `floor ${rate(floor)} (${mib(images.big.compressed)} MiB in ${floorS.toFixed(2)} s)`;
  if (dt <= 0)
    return { name, measured: `10x not slower than small (Δ ${dt.toFixed(2)} s); ${floorText}`, met: true };
  const marginal = bytes / dt;
  return {
    name,
    measured: `${rate(marginal)} = ${((marginal / floor) * 100).toFixed(0)} % (Δ ${mib(bytes)} MiB in Δ ${dt.toFixed(2)} s); ${floorText}`,
    met: marginal >= THROUGHPUT_SHARE * floor,
  };
}

/** All of issue 14's (and issue 16's BuildKit-engine) speed targets, in the order they are printed. */
export function speedTargets(results: readonly ContenderResult[], images?: ImageBytes): Target[] {
  return [
    ...copaGoTargets(results),
    rssTarget(results),
    ...bkTargets(results),
    bkClientRssTarget(results),
    ...phaseFloorTargets(results),
    throughputTarget(results, images),
  ];
}
