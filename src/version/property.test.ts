import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { check, fcParams } from '../../test/helpers/fc.js';
import { dpkgOrder, pacmanOrder, rpmOrder } from '../../test/helpers/real-versions.js';
import { apkVersion } from './apk.js';
import { debVersion, parseDebVersion } from './deb.js';
import { pacmanVersion } from './pacman.js';
import { rpmVersion } from './rpm.js';
import type { VersionScheme } from './types.js';

// Property tests of the version comparators (fast-check, seed and size from test/helpers/fc.ts): the
// orderings agree with the real dpkg and rpm of this machine on generated versions (one process per batch),
// and every scheme is a total preorder (reflexive, antisymmetric, transitive).

type Pair = [string, string];

const digits = fc.oneof(
  fc.nat({ max: 20 }).map(String),
  fc.bigInt({ min: 0n, max: 10n ** 25n }).map(String),
  fc.constantFrom('0', '00', '007', '01'),
);
const word = fc.constantFrom(
  'a',
  'b',
  'rc',
  'alpha',
  'Z',
  'z',
  'dfsg',
  'git',
  'el9',
  'deb12u',
  'bpo',
  'ubuntu',
);

/** A Debian upstream/revision body: starts with a digit, then digits, words and separators. */
function debBody(seps: string[]): fc.Arbitrary<string> {
  const piece = fc.oneof(
    { weight: 3, arbitrary: digits.map((d) => '.' + d) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...seps), digits).map(([s, d]) => s + d) },
    { weight: 2, arbitrary: fc.tuple(word, fc.option(digits, { nil: '' })).map(([w, d]) => w + d) },
    { weight: 1, arbitrary: fc.constantFrom(...seps) },
  );
  return fc.tuple(digits, fc.array(piece, { maxLength: 5 })).map(([d, rest]) => d + rest.join(''));
}

const debVersionArb: fc.Arbitrary<string> = fc
  .record({
    epoch: fc.option(fc.oneof(fc.nat({ max: 12 }).map(String), fc.constant('01')), { nil: undefined }),
    revision: fc.option(debBody(['.', '+', '~', '~~']), { nil: undefined }),
  })
  .chain(({ epoch, revision }) => {
    const seps = ['.', '+', '~', '~~', ...(revision !== undefined ? ['-'] : []), ...(epoch ? [':'] : [])];
    return debBody(seps).map(
      (up) => (epoch !== undefined ? `${epoch}:` : '') + up + (revision !== undefined ? `-${revision}` : ''),
    );
  })
  .filter((v) => parseDebVersion(v).ok);

const rpmVersionArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.option(fc.constantFrom('0', '1', '2', '10', '01'), { nil: undefined }),
    debBody(['.', '_', '+', '~', '^', '~~', '..']),
    fc.option(debBody(['.', '_', '+', '~', '^']), { nil: undefined }),
  )
  .map(([e, v, r]) => (e !== undefined ? `${e}:` : '') + v + (r !== undefined ? `-${r}` : ''));

/** A version near `v`: most interesting comparisons are between near-equal strings. */
function nearby(v: fc.Arbitrary<string>, suffixes: string[]): fc.Arbitrary<Pair> {
  return v.chain((a) =>
    fc
      .oneof(
        fc.constantFrom(...suffixes).map((s) => a + s),
        fc.constant(a.replace(/\d+/, (d) => '0' + d)),
        fc.constant(a.replace(/\d+(?!.*\d)/, (d) => String(BigInt(d) + 1n))),
        fc.constant(a.slice(0, -1) || '0'),
        v,
      )
      .map((b): Pair => [a, b]),
  );
}

const debPair = nearby(debVersionArb, ['~', '~~', '+b1', '.0', '0', 'a', '+deb12u1', '-1', '~rc1']).filter(
  ([, b]) => parseDebVersion(b).ok,
);
const rpmPair = nearby(rpmVersionArb, ['~', '^', '^git1', '.0', '0', 'a', '-1', '.el9', '~~']);

/** Each batch is one process of the real tool; fast-check shrinks a failing batch to the failing pair. */
function agreesWithTool(scheme: VersionScheme, pair: fc.Arbitrary<Pair>, tool: (p: Pair[]) => number[]) {
  const batches = fc.array(pair, { minLength: 1, maxLength: 120 });
  check(
    fc.property(batches, (pairs) => {
      const expected = tool(pairs);
      const wrong = pairs
        .map(([a, b], k) => ({ a, b, tool: expected[k], ours: Math.sign(scheme.compare(a, b)) }))
        .filter((r) => r.tool !== r.ours);
      expect(wrong).toEqual([]);
    }),
    0.05,
  );
}

const HAVE_RPM = spawnSync('rpm', ['--version']).status === 0;
if (!HAVE_RPM && process.env.COPA_REQUIRE_TOOLS === '1') {
  throw new Error('rpm is not installed, and COPA_REQUIRE_TOOLS=1: apt-get install rpm');
}

const HAVE_VERCMP = spawnSync('vercmp', ['1', '2']).status === 0;
if (!HAVE_VERCMP && process.env.COPA_REQUIRE_TOOLS === '1') {
  throw new Error("pacman's vercmp is not installed, and COPA_REQUIRE_TOOLS=1: apt-get install makepkg");
}

describe('version comparators against the real tools (property)', () => {
  it(`debVersion.compare = dpkg --compare-versions on generated pairs (seed ${fcParams().seed})`, () => {
    agreesWithTool(debVersion, debPair, dpkgOrder);
  });

  it.skipIf(!HAVE_RPM)(
    `rpmVersion.compare = rpm.vercmp on generated pairs${HAVE_RPM ? '' : ' — SKIPPED: rpm is not installed'}`,
    () => {
      agreesWithTool(rpmVersion, rpmPair, rpmOrder);
    },
  );

  it.skipIf(!HAVE_VERCMP)(
    `pacmanVersion.compare = pacman's vercmp on generated pairs${HAVE_VERCMP ? '' : ' — SKIPPED: vercmp is not installed (apt-get install makepkg)'}`,
    () => {
      agreesWithTool(pacmanVersion, pacmanPair, pacmanOrder);
    },
  );
});

const apkArb = fc
  .tuple(
    fc.array(fc.nat({ max: 30 }).map(String), { minLength: 1, maxLength: 4 }).map((p) => p.join('.')),
    fc.option(fc.constantFrom('a', 'b', 'z'), { nil: '' }),
    fc.option(
      fc.tuple(fc.constantFrom('_alpha', '_beta', '_pre', '_rc', '_p', '_cvs', '_git'), fc.nat({ max: 9 })),
      { nil: undefined },
    ),
    fc.option(fc.nat({ max: 12 }), { nil: undefined }),
  )
  .map(([v, l, s, r]) => v + l + (s ? s[0] + String(s[1]) : '') + (r !== undefined ? `-r${r}` : ''))
  .filter((v) => apkVersion.isValid(v));

const pacmanArb = rpmVersionArb.filter((v) => pacmanVersion.isValid(v));
const pacmanPair = nearby(pacmanArb, ['.0', '0', 'a', 'rc1', '.1', '-2', '+1']).filter(([, b]) =>
  pacmanVersion.isValid(b),
);

const SCHEMES: [VersionScheme, fc.Arbitrary<string>][] = [
  [debVersion, debVersionArb],
  [rpmVersion, rpmVersionArb],
  [apkVersion, apkArb],
  [pacmanVersion, pacmanArb],
];

describe.each(SCHEMES.map(([s, a]) => [s.name, s, a] as const))(
  '%s compare is a total preorder (property)',
  (_name, scheme, arb) => {
    it('reflexive and antisymmetric', () => {
      check(
        fc.property(arb, arb, (a, b) => {
          expect(scheme.compare(a, a)).toBe(0);
          expect(Math.sign(scheme.compare(a, b))).toBe(-Math.sign(scheme.compare(b, a)) || 0);
        }),
      );
    });

    it('transitive: sorting gives a chain every later element is >= every earlier one', () => {
      check(
        fc.property(fc.array(arb, { minLength: 2, maxLength: 12 }), (vs) => {
          const sorted = [...vs].sort((a, b) => scheme.compare(a, b));
          for (let i = 0; i < sorted.length; i++)
            for (let j = i + 1; j < sorted.length; j++)
              expect(scheme.compare(sorted[i] ?? '', sorted[j] ?? '')).toBeLessThanOrEqual(0);
        }),
      );
    });
  },
);
