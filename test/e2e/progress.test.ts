/**
 * What a person sees: the CLI in a pseudo-terminal (util-linux `script`, sized 120x40) draws live phase
 * lines and ends with the package table and the result line; the same run piped gives time-stamped
 * plain lines; NO_COLOR drops the colors; --progress quiet leaves the result line alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, copa } from '../helpers/cli.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { trivyReport } from '../helpers/trivy.js';
import { upgradablePackages, type Upgradable } from '../helpers/upgradable.js';

let registry: TestRegistry;
let work: string;
let source: string;
let report: string;
let chosen: Upgradable[];

const env = { ...process.env, COPA_EOL_API_URL: 'off' };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-progress-'));
  registry = await startRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  const upgradable = await upgradablePackages(fixture);
  chosen = upgradable.filter((u) => ['libexpat1', 'zlib1g'].includes(u.name));
  if (chosen.length === 0) chosen = upgradable.slice(0, 1);
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
  report = join(work, 'report.json');
  await writeFile(
    report,
    trivyReport({
      family: 'debian',
      version: '12',
      arch: 'amd64',
      image: source,
      vulns: chosen.map((u) => ({ pkg: u.name, installed: u.from, fixed: u.to })),
    }),
  );
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Run the CLI in a pseudo-terminal; returns everything the terminal received. */
function inTerminal(args: string[], extraEnv: Record<string, string> = {}): { code: number; screen: string } {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const r = spawnSync('script', ['-qefc', `stty cols 120 rows 40; ${quoted}`, '/dev/null'], {
    env: { ...env, ...extraEnv },
    encoding: 'utf8',
    timeout: 600_000,
  });
  return { code: r.status ?? 1, screen: r.stdout };
}

describe('progress and the final summary', () => {
  it('on a terminal: live phase lines, then the package table and the result line', () => {
    const cache = join(work, 'tty-cache');
    const r = inTerminal(['patch', '-i', source, '-r', report, '-t', 'tty', '--push', '--cache-dir', cache]);
    expect(r.code).toBe(0);
    // live lines while phases run, a check mark when they end, each with its elapsed time
    expect(r.screen).toMatch(
      /linux\/amd64 {2}pulling and extracting layers( {2}[\d.]+\/[\d.]+ MiB, \d\/2 layers)?/,
    );
    expect(r.screen).toMatch(/linux\/amd64 {2}installing packages/);
    for (const phase of [
      'layers ready',
      'package lists updated',
      'packages installed',
      'layer written',
      'image delivered',
    ]) {
      expect(r.screen).toMatch(new RegExp(`✔.*linux/amd64 {2}${phase}.*\\d+\\.\\ds`));
    }
    expect(r.screen).toContain('\x1b[32m✔'); // colored
    expect(r.screen).toMatch(/PACKAGE +FROM +TO/);
    for (const u of chosen) expect(r.screen).toMatch(new RegExp(`${u.name} +\\S+ +\\S+`));
    expect(r.screen).toMatch(
      new RegExp(
        `Patched ${source.replaceAll('.', '\\.')} \\(linux/amd64\\) -> ${registry.host.replaceAll('.', '\\.')}/debian:tty@sha256:[a-f0-9]{64}: ${chosen.length} update\\(s\\), new layer [\\d.]+ [KM]iB`,
      ),
    );
    expect(r.screen).toMatch(/report: \d+ vulnerabilities, \d+ with a fix, \d+ without/);
  });

  it('NO_COLOR: the same lines without colors', () => {
    const r = inTerminal(
      [
        'patch',
        '-i',
        source,
        '-r',
        report,
        '-t',
        'nocolor',
        '--push',
        '--cache-dir',
        join(work, 'tty-cache'),
      ],
      {
        NO_COLOR: '1',
      },
    );
    expect(r.code).toBe(0);
    expect(r.screen).toMatch(/✔ linux\/amd64 {2}layers ready/);
    expect(r.screen).not.toMatch(new RegExp(`${String.fromCharCode(27)}\\[3\\dm`));
  });

  it('piped (a CI log): plain time-stamped lines, the same summary at the end', async () => {
    const r = await copa(
      [
        'patch',
        '-i',
        source,
        '-r',
        report,
        '-t',
        'plain',
        '--push',
        '--cache-dir',
        join(work, 'plain-cache'),
      ],
      env,
    );
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('\x1b[');
    expect(r.stderr).toMatch(/^\[\d\d:\d\d:\d\d\] Pulling /m);
    expect(r.stderr).toMatch(/^\[\d\d:\d\d:\d\d\] linux\/amd64 layers ready in [\d.]+s$/m);
    expect(r.stderr).toMatch(/^\[\d\d:\d\d:\d\d\] linux\/amd64 packages installed in [\d.]+s$/m);
    expect(r.stderr).toMatch(/^PACKAGE +FROM +TO$/m);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(
      /^Patched .* -> .*\/debian:plain@sha256:[a-f0-9]{64}: /,
    );
    // one summary, at the end: the report's counts are not printed before the work
    expect(r.stderr).not.toContain('Patch Summary:');
  });

  it('--progress quiet: only the result line (and warnings)', async () => {
    const r = await copa(
      [
        'patch',
        '-i',
        source,
        '-r',
        report,
        '-t',
        'quiet',
        '--push',
        '--cache-dir',
        join(work, 'plain-cache'),
        '--progress',
        'quiet',
      ],
      env,
    );
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^Patched .*\/debian:quiet@sha256:/);
  });
});
