import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBookwormReport } from '../helpers/debian-report.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { tagExists } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { upgradablePackages } from '../helpers/upgradable.js';

/**
 * A soak (issue 17 item 6): 50 patches back to back in one process (the library API), on one cache, report
 * and update-all mixed. After every run the process has no more open file descriptors, mounts or temp dirs
 * than after the first, and its RSS (after a full GC) does not keep growing.
 */

const RUNS = Number(process.env.COPA_SOAK_RUNS ?? 50);
const RUNNER = fileURLToPath(new URL('../fixtures/soak/runner.mts', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

interface Sample {
  run: number;
  mode?: string;
  status?: string;
  ms?: number;
  fds: number;
  files: number;
  sockets: number;
  mounts: number;
  tempDirs: number;
  rssMiB: number;
  heapMiB: number;
}

let work: string;
let registry: TestRegistry;
let samples: Sample[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-soak-'));
  registry = await startRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  const source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12'))
    .reference;
  const upgradable = await upgradablePackages(fixture);
  expect(upgradable.length).toBeGreaterThan(0);
  const report = join(work, 'report.json');
  await writeBookwormReport(report, source, [
    upgradable.find((u) => u.name === 'libexpat1') ?? upgradable[0]!,
  ]);
  const all = `${registry.host}/debian:soak-all`;
  // run 1 updates everything; every tenth run after it is update-all again, of that image (apt finds nothing
  // left to do); the others patch the report's package
  const runs = Array.from({ length: RUNS }, (_, i) =>
    i === 0
      ? { image: source, tag: 'soak-all' }
      : i % 10 === 0
        ? { image: all, tag: `soak-all-${i}` }
        : { image: source, report, tag: `soak-${i}` },
  );
  const args = join(work, 'args.json');
  const workDir = join(work, 'work');
  await writeFile(args, JSON.stringify({ dist: DIST, runs, cacheDir: join(work, 'cache'), workDir }));
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', RUNNER, args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`soak runner exited ${code}`)),
    );
  });
  samples = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Sample);
  // the figures the README's reliability section quotes
  const runMs = samples.slice(1).map((s) => s.ms ?? 0);
  console.log(
    `soak: ${RUNS} runs, ${Math.round(runMs.reduce((a, b) => a + b, 0) / 1000)} s; ` +
      samples.map((s) => `${s.run}:${s.files}f/${s.sockets}s/${s.rssMiB}M`).join(' '),
  );
}, 1_800_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe(`soak: ${RUNS} patches back to back in one process, one cache`, () => {
  it('every run patched (report) or found nothing left to update (update-all of the patched image)', () => {
    expect(samples).toHaveLength(RUNS + 1);
    const runs = samples.slice(1);
    expect(runs[0]?.status).toBe('Patched');
    for (const s of runs.slice(1))
      expect(s.status, JSON.stringify(s)).toBe(s.mode === 'report' ? 'Patched' : 'Up-to-date');
    expect(tagExists(`${registry.host}/debian:soak-${RUNS - 1}`)).toBe(true);
  });

  it('no growth of open files, mounts or temp dirs beyond the first run; sockets within a band that does not climb', async () => {
    const series = samples.map((s) => `${s.run}:${s.files}f/${s.sockets}s`).join(' ');
    const first = samples[1] as Sample;
    for (const s of samples.slice(2)) {
      expect(s.files, series).toBeLessThanOrEqual(first.files);
      expect(s.mounts).toBe(0);
      expect(s.tempDirs).toBe(0);
    }
    // idle keep-alive connections to the registry come and go with timing (undici closes them after a few
    // seconds): their number moves within a band and never climbs with the runs — one leaked socket per run
    // would end above 50
    const band = (xs: Sample[]) => Math.max(...xs.map((s) => s.sockets));
    expect(band(samples.slice(-10)), series).toBeLessThanOrEqual(band(samples.slice(1, 11)) + 4);
    for (const s of samples) expect(s.sockets, series).toBeLessThanOrEqual(20);
    expect((await readdir(join(work, 'work'))).filter((n) => n.startsWith('copa-'))).toEqual([]);
  });

  it('RSS after a full GC does not keep growing (last ten runs within 32 MiB of runs 2–11)', () => {
    const early = Math.max(...samples.slice(2, 12).map((s) => s.rssMiB));
    const late = Math.max(...samples.slice(-10).map((s) => s.rssMiB));
    expect(late, samples.map((s) => `${s.run}:${s.rssMiB}`).join(' ')).toBeLessThanOrEqual(early + 32);
  });
});
