import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { check } from '../../test/helpers/fc.js';
import { CopaError } from '../errors.js';
import { checkMetadata } from './index.js';
import { grypeParser } from './grype/grype.js';
import { nativeParser } from './native/native.js';
import { parseTrivyReport, trivyParser, TRIVY_LANG_TYPES } from './trivy/trivy.js';
import type { ReportParser, UpdateManifest } from './types.js';

// Property tests of the report parsers (fast-check; seed and size from test/helpers/fc.ts): any bytes and
// any JSON give a manifest or one CopaError('REPORT'), never another error; generated Trivy reports give
// exactly their fixable findings, in order, and counts that add up.

const PARSERS: ReportParser[] = [trivyParser, grypeParser, nativeParser];
const SAMPLES = [
  'trivy-debian12.json',
  'trivy-alpine.json',
  'grype-debian12.json',
  'native-v1alpha2.json',
].map((f) => JSON.parse(readFileSync(new URL(`./testdata/${f}`, import.meta.url), 'utf8')) as unknown);

/** What a parser does with the bytes: a manifest, or the one error users may see. */
function outcome(parser: ReportParser, raw: Buffer): UpdateManifest | CopaError {
  try {
    const m = parser.parse(raw, 'report.json');
    checkMetadata(m, 'report.json');
    return m;
  } catch (e) {
    if (e instanceof CopaError) return e;
    throw e; // a TypeError or the like is a parser bug
  }
}

function expectSane(parser: ReportParser, raw: Buffer): void {
  const r = outcome(parser, raw);
  if (r instanceof CopaError) {
    expect(r.code).toBe('REPORT');
    expect(r.message).not.toContain('\n');
  } else {
    for (const u of [...r.osUpdates, ...r.langUpdates]) expect(typeof u.name).toBe('string');
  }
}

/** Every path into a JSON value (objects and arrays), for targeted damage. */
function paths(
  v: unknown,
  at: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, k) => paths(x, [...at, k], out));
  else if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

/** `doc` with the value at `path` replaced by `value` (or removed when `value` is undefined). */
function damaged(doc: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === undefined && !Array.isArray(node)) delete node[last];
  else node[last] = value;
  return copy;
}

describe('report parsers on arbitrary input (property)', () => {
  it('any bytes: a manifest or one CopaError REPORT', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
    );
    check(fc.property(bytes, (raw) => PARSERS.forEach((p) => expectSane(p, raw))));
  });

  it('any JSON value, also beside the fields a parser looks for', () => {
    const json = fc.oneof(
      fc.jsonValue(),
      fc.record({ SchemaVersion: fc.jsonValue(), Results: fc.jsonValue(), Metadata: fc.jsonValue() }),
      fc.record({
        apiVersion: fc.constantFrom('v1alpha1', 'v1alpha2'),
        metadata: fc.jsonValue(),
        updates: fc.jsonValue(),
      }),
      fc.record({ matches: fc.jsonValue(), distro: fc.jsonValue(), source: fc.jsonValue() }),
    );
    check(fc.property(json, (v) => PARSERS.forEach((p) => expectSane(p, Buffer.from(JSON.stringify(v))))));
  });

  it('real reports with one value replaced or removed anywhere', () => {
    const damage = fc.tuple(
      fc.nat({ max: SAMPLES.length - 1 }),
      fc.nat(),
      fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
    );
    check(
      fc.property(damage, ([k, at, value]) => {
        const doc = SAMPLES[k];
        const all = paths(doc);
        const raw = Buffer.from(JSON.stringify(damaged(doc, all[at % all.length] ?? [], value)) ?? 'null');
        PARSERS.forEach((p) => expectSane(p, raw));
      }),
      2,
    );
  });
});

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constant(''));
const vuln = fc.record({
  VulnerabilityID: fc.stringMatching(/^CVE-20[0-9]{2}-[0-9]{4,6}$/),
  PkgName: fc.stringMatching(/^[a-z0-9][a-z0-9+.-]{0,15}$/),
  InstalledVersion: text,
  FixedVersion: fc.oneof(fc.constant(''), fc.stringMatching(/^[0-9][0-9a-z.+~:-]{0,10}$/)),
  Severity: fc.constantFrom('LOW', 'HIGH'), // ignored fields are allowed
});
const result = fc.record({
  Target: text,
  Class: fc.constantFrom('os-pkgs', 'lang-pkgs', 'secret', 'config'),
  Type: fc.constantFrom('debian', 'alpine', 'python-pkg', 'node-pkg', 'jar', 'gomod'),
  Vulnerabilities: fc.oneof(fc.constant(null), fc.array(vuln, { maxLength: 6 })),
});
const trivyReport = fc.record({
  SchemaVersion: fc.constant(2),
  ArtifactName: text,
  Metadata: fc.record({
    OS: fc.record({
      Family: fc.constantFrom('debian', 'ubuntu', 'alpine'),
      Name: fc.constantFrom('12', '22.04', '3.20'),
    }),
    ImageConfig: fc.record({ architecture: fc.constantFrom('amd64', 'arm64') }),
  }),
  Results: fc.array(result, { maxLength: 5 }),
});

describe('parseTrivyReport on generated reports (property)', () => {
  it('OS updates are exactly the fixable os-pkgs findings, in order; counts add up', () => {
    check(
      fc.property(trivyReport, fc.boolean(), (report, bom) => {
        const raw = Buffer.from((bom ? '\uFEFF' : '') + JSON.stringify(report, null, bom ? 2 : 0));
        const m = parseTrivyReport(raw, 'r.json');
        const os = report.Results.filter((r) => r.Class === 'os-pkgs').flatMap((r) =>
          (r.Vulnerabilities ?? []).map((v) => ({ ...v, Type: r.Type })),
        );
        const fixable = os.filter((v) => v.FixedVersion !== '');
        expect(
          m.osUpdates.map((u) => [u.name, u.installedVersion, u.fixedVersion, u.vulnerabilityID, u.type]),
        ).toEqual(
          fixable.map((v) => [v.PkgName, v.InstalledVersion, v.FixedVersion, v.VulnerabilityID, v.Type]),
        );
        expect(m.summary?.os).toEqual({
          total: os.length,
          patched: fixable.length,
          skipped: os.length - fixable.length,
        });
        const lang = report.Results.filter(
          (r) => r.Class === 'lang-pkgs' && TRIVY_LANG_TYPES.has(r.Type),
        ).flatMap((r) => r.Vulnerabilities ?? []);
        expect(m.langUpdates.map((u) => u.name)).toEqual(
          lang.filter((v) => v.FixedVersion !== '').map((v) => v.PkgName),
        );
        expect(m.summary?.lang.total).toBe(lang.length);
        expect(m.os).toEqual({ type: report.Metadata.OS.Family, version: report.Metadata.OS.Name });
        expect(m.arch).toBe(report.Metadata.ImageConfig.architecture);
      }),
    );
  });
});
