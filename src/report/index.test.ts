import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import type { Logger } from '../log.js';
import { checkMetadata, formatPatchSummary, loadReport } from './index.js';

const testdata = fileURLToPath(new URL('./testdata/', import.meta.url));
const fixture = (name: string): string => join(testdata, name);

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'copa-report-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<CopaError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CopaError) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

function recorder(): { logger: Logger; info: string[] } {
  const info: string[] = [];
  // the summary goes to debug output (the run's final summary reports it; see reportCounts)
  return { logger: { debug: (m) => void info.push(m), info: (m) => void info.push(m), warn() {} }, info };
}

describe('loadReport', () => {
  it('reads a Trivy report by default and logs the patch summary (debug)', async () => {
    const { logger, info } = recorder();
    const m = await loadReport(fixture('trivy-debian12.json'), { logger });
    expect([m.source, m.os.type, m.os.version, m.osUpdates.length]).toEqual(['trivy', 'debian', '12.5', 4]);
    expect(info).toContain('Patch Summary: 6 total, 4 patched, 2 skipped');
  });

  it('summarises libraries too when they are selected', async () => {
    const { logger, info } = recorder();
    await loadReport(fixture('trivy-debian12.json'), { logger, pkgTypes: ['os', 'library'] });
    expect(info).toContain('Patch Summary: 10 total, 7 patched, 3 skipped');
  });

  it('reads native v1alpha1 and v1alpha2 with --scanner native', async () => {
    const v1 = await loadReport(fixture('native-v1alpha1.json'), { scanner: 'native' });
    const v2 = await loadReport(fixture('native-v1alpha2.json'), { scanner: 'native' });
    expect([v1.source, v1.osUpdates.length, v2.variant, v2.langUpdates.length]).toEqual([
      'native',
      2,
      'v7',
      1,
    ]);
  });

  it('reads a Grype report with --scanner grype, and detects it with the default --scanner trivy', async () => {
    for (const scanner of ['grype', 'trivy', undefined]) {
      const { logger, info } = recorder();
      const m = await loadReport(fixture('grype-debian12.json'), { logger, ...(scanner ? { scanner } : {}) });
      expect([m.source, m.os.type, m.os.version, m.osUpdates.length]).toEqual(['grype', 'debian', '12', 4]);
      expect(info).toContain('Patch Summary: 6 total, 4 patched, 2 skipped');
    }
    const lang = await loadReport(fixture('grype-scratch-go.json'), { scanner: 'grype' });
    expect([lang.os.type, lang.osUpdates.length, lang.langUpdates.length]).toEqual(['', 0, 3]);
  });

  it('--scanner grype refuses other formats, with a hint at the right scanner', async () => {
    const trivy = await failure(loadReport(fixture('trivy-alpine.json'), { scanner: 'grype' }));
    expect(trivy.message).toBe(`${fixture('trivy-alpine.json')} is not a supported scan report format`);
    expect(trivy.hint).toBe('this looks like a Trivy report: use --scanner trivy (the default)');
    const grype = await failure(loadReport(fixture('grype-debian12.json'), { scanner: 'native' }));
    expect(grype.hint).toBe(
      'this looks like a Grype report: use --scanner grype (or the default, --scanner trivy)',
    );
    const other = await failure(loadReport(fixture('not-a-report.json'), { scanner: 'grype' }));
    expect(other.hint).toMatch(/Grype JSON \(--scanner grype/);
  });

  it('a malformed Grype report is one REPORT line, with either scanner name', async () => {
    const bad = join(dir, 'grype-bad.json');
    writeFileSync(bad, JSON.stringify({ matches: [{ artifact: {} }], descriptor: { name: 'grype' } }));
    for (const scanner of ['grype', 'trivy']) {
      const err = await failure(loadReport(bad, { scanner }));
      expect(err.code).toBe('REPORT');
      expect(err.message).toMatch(new RegExp(`^${bad} is not a valid Grype report: matches\\.0\\.`));
      expect(err.hint).toMatch(/grype -o json/);
    }
  });

  it('"metadata is incomplete" for Grype OS matches without a distro (checked after parsing)', async () => {
    const noDistro = join(dir, 'grype-no-distro.json');
    const m = JSON.parse(readFileSync(fixture('grype-debian12.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(noDistro, JSON.stringify({ ...m, distro: { name: '', version: '', idLike: null } }));
    const err = await failure(loadReport(noDistro, { scanner: 'grype' }));
    expect(err.message).toBe(
      `vulnerability report metadata is incomplete: OS type and OS version missing in ${noDistro}`,
    );
  });

  it('runs a plugin for any other scanner name', async () => {
    const plugin = join(dir, 'copa-fake');
    writeFileSync(plugin, `#!/bin/sh\ncat "$1"\n`, { mode: 0o755 });
    const env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    const m = await loadReport(fixture('native-v1alpha2.json'), { scanner: 'fake', env });
    expect([m.source, m.osUpdates[0]?.name]).toEqual(['plugin', 'libcurl4']);
  });

  it('one clear line for a missing file', async () => {
    const err = await failure(loadReport(join(dir, 'nope.json')));
    expect([err.code, err.message]).toEqual([
      'REPORT',
      `report file ${join(dir, 'nope.json')} does not exist`,
    ]);
    expect(err.hint).toBeTruthy();
    const viaPlugin = await failure(loadReport(join(dir, 'nope.json'), { scanner: 'fake' }));
    expect(viaPlugin.message).toMatch(/does not exist$/);
  });

  it('one clear line for a directory', async () => {
    const err = await failure(loadReport(testdata));
    expect(err.message).toBe(`report ${testdata} is a directory, but a report file is expected here`);
  });

  it('refuses a report over the size limit (COPA_MAX_REPORT_BYTES), reading no further than it', async () => {
    const big = join(dir, 'big.json');
    writeFileSync(big, Buffer.alloc(3 * 1024 * 1024, 0x20));
    const saved = process.env.COPA_MAX_REPORT_BYTES;
    process.env.COPA_MAX_REPORT_BYTES = String(2 * 1024 * 1024);
    try {
      const err = await failure(loadReport(big));
      expect(err.code).toBe('REPORT');
      expect(err.message).toBe(`report ${big} is larger than 2 MiB, the limit for a report`);
      // /dev/zero never ends: the cap, not the end of the file, stops the read
      expect((await failure(loadReport('/dev/zero'))).message).toBe(
        'report /dev/zero is larger than 2 MiB, the limit for a report',
      );
    } finally {
      if (saved === undefined) delete process.env.COPA_MAX_REPORT_BYTES;
      else process.env.COPA_MAX_REPORT_BYTES = saved;
    }
  });

  it('one clear line for a file that is not JSON', async () => {
    for (const scanner of ['trivy', 'native']) {
      const err = await failure(loadReport(fixture('garbage.txt'), { scanner }));
      expect(err.code).toBe('REPORT');
      expect(err.message).toMatch(new RegExp(`^${fixture('garbage.txt')} is not JSON: `));
      expect(err.message).not.toContain('\n');
    }
  });

  it('"not a supported scan report format" for other JSON, with a hint at the right scanner', async () => {
    const other = await failure(loadReport(fixture('not-a-report.json')));
    expect(other.message).toBe(`${fixture('not-a-report.json')} is not a supported scan report format`);
    const native = await failure(loadReport(fixture('native-v1alpha1.json')));
    expect(native.message).toBe(`${fixture('native-v1alpha1.json')} is not a supported scan report format`);
    expect(native.hint).toBe('this looks like a Copa update manifest: use --scanner native');
    const trivy = await failure(loadReport(fixture('trivy-alpine.json'), { scanner: 'native' }));
    expect(trivy.message).toBe(`${fixture('trivy-alpine.json')} is not a supported scan report format`);
    expect(trivy.hint).toBe('this looks like a Trivy report: use --scanner trivy (the default)');
    const api = await failure(loadReport(fixture('native-unknown-api.json'), { scanner: 'native' }));
    expect(api.message).toBe(`${fixture('native-unknown-api.json')}: unsupported apiVersion "v1beta1"`);
  });

  it('"vulnerability report metadata is incomplete" when OS updates come without the OS', async () => {
    const err = await failure(loadReport(fixture('trivy-no-os.json')));
    expect(err.message).toBe(
      `vulnerability report metadata is incomplete: OS type and OS version missing in ${fixture('trivy-no-os.json')}`,
    );
    const noVersion = join(dir, 'no-version.json');
    writeFileSync(
      noVersion,
      JSON.stringify({
        apiVersion: 'v1alpha1',
        metadata: { os: { type: 'debian' } },
        updates: [{ name: 'curl', fixedVersion: '1' }],
      }),
    );
    expect((await failure(loadReport(noVersion, { scanner: 'native' }))).message).toMatch(
      /incomplete: OS version missing/,
    );
  });
});

describe('checkMetadata and formatPatchSummary', () => {
  it('allows missing OS metadata when there are no OS updates (library-only reports)', () => {
    const m = {
      os: { type: '', version: '' },
      arch: '',
      osUpdates: [],
      langUpdates: [],
      source: 'trivy' as const,
    };
    expect(() => checkMetadata(m, 'f')).not.toThrow();
  });

  it('formats the summary for the selected package types', () => {
    const s = { os: { total: 3, patched: 2, skipped: 1 }, lang: { total: 5, patched: 1, skipped: 4 } };
    expect(formatPatchSummary(s)).toBe('Patch Summary: 3 total, 2 patched, 1 skipped');
    expect(formatPatchSummary(s, ['library'])).toBe('Patch Summary: 5 total, 1 patched, 4 skipped');
  });
});
