import { readdir, readFile, readlink, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa, startCli } from '../helpers/cli.js';
import { writeBookwormReport } from '../helpers/debian-report.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { tagExists } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { upgradablePackages } from '../helpers/upgradable.js';

/**
 * SIGINT, SIGTERM and SIGKILL at every stage of a patch (issue 17 item 5), stepping through the stages on
 * one shared cache: the signal is sent when the line that starts a stage appears. After each: exit 130 /
 * 143 (or killed), one `Error:` line for the catchable signals, no mount or process of the run left on the
 * host, no tag pushed; the next interrupted run gets at least as far (the cache is not corrupted), and a
 * last run on the same cache succeeds.
 */

let work: string;
let cacheDir: string;
let registry: TestRegistry;
let proxy: FaultProxy;
let source: string;
let viaProxy: string;
let report: string;

interface Stage {
  name: string;
  /** the line after which the stage is running */
  trigger: RegExp;
  /** update-all (a layer big enough to be caught while it is written) instead of the one-package report */
  updateAll?: boolean;
  /** push through the proxy, whose uploads are slowed down */
  slowPush?: boolean;
}

const STAGES: Stage[] = [
  { name: 'pull and extract (streamed together)', trigger: /Pulling / },
  { name: 'package lists', trigger: /Updating package lists/ },
  { name: 'install', trigger: /Installing \d+ package/ },
  { name: 'layer write', trigger: /packages installed in/, updateAll: true },
  { name: 'push', trigger: /layer written in/, slowPush: true },
];
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGKILL'] as const;
const EXIT = { SIGINT: 130, SIGTERM: 143, SIGKILL: 128 } as const;

/** processes whose root, cwd or command line is under the work dir (the run's sandbox, apt, dpkg …) */
async function processesUnderWork(): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const probes = await Promise.all([
      readlink(`/proc/${pid}/root`).catch(() => ''),
      readlink(`/proc/${pid}/cwd`).catch(() => ''),
      readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''),
    ]);
    if (probes.some((p) => p.includes(work)))
      found.push(`${pid}: ${probes[2].replace(/\0/g, ' ').slice(0, 120)}`);
  }
  return found;
}

async function settled(): Promise<{ processes: string[]; mounted: boolean }> {
  for (let i = 0; i < 50; i++) {
    const processes = await processesUnderWork();
    const mounted = (await readFile('/proc/self/mountinfo', 'utf8')).includes(work);
    if (processes.length === 0 && !mounted) return { processes, mounted };
    await sleep(100);
  }
  return {
    processes: await processesUnderWork(),
    mounted: (await readFile('/proc/self/mountinfo', 'utf8')).includes(work),
  };
}

function patchArgs(stage: Stage, tag: string): string[] {
  const image = stage.slowPush ? viaProxy : source;
  return [
    'patch',
    '-i',
    image,
    ...(stage.updateAll ? [] : ['-r', report]),
    '--push',
    '-t',
    tag,
    '--cache-dir',
    cacheDir,
    '-w',
    work,
  ];
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-signals-'));
  cacheDir = join(work, 'cache');
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.host);
  // uploads through the proxy crawl: a push is still running when the signal comes
  proxy.rules.push({ method: 'PATCH', path: /\/blobs\/uploads\//, fault: { kind: 'slow', delayMs: 4000 } });
  proxy.rules.push({ method: 'PUT', path: /\/blobs\/uploads\//, fault: { kind: 'slow', delayMs: 4000 } });
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
  viaProxy = source.replace(registry.host, proxy.host);
  const upgradable = await upgradablePackages(fixture);
  expect(upgradable.length).toBeGreaterThan(0);
  report = join(work, 'report.json');
  await writeBookwormReport(report, source, [
    upgradable.find((u) => u.name === 'libexpat1') ?? upgradable[0]!,
  ]);
}, 900_000);

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('signals at every stage, one shared cache', () => {
  const cases = STAGES.flatMap((stage) => SIGNALS.map((signal) => ({ stage, signal })));
  it.each(cases)(
    '$signal during $stage.name → exit/killed, no mount, no process, no tag',
    async ({ stage, signal }) => {
      const tag = `sig-${signal}-${stage.name.split(' ')[0]}`;
      const { child, done } = startCli(patchArgs(stage, tag));
      let seen = '';
      const reached = await new Promise<boolean>((resolve) => {
        child.stderr?.on('data', (d: Buffer) => {
          seen += d.toString();
          if (stage.trigger.test(seen)) resolve(true);
        });
        child.on('close', () => resolve(false));
      });
      expect(reached, `the run never reached ${stage.name}:\n${seen}`).toBe(true);
      child.kill(signal);
      const r = await done;
      expect(r.code, r.stderr).toBe(EXIT[signal]);
      if (signal !== 'SIGKILL') {
        expect(r.stderr).toContain(`interrupted (${signal})`);
        expect(r.stderr.split('\n').filter((l) => l.startsWith('Error: '))).toEqual([
          'Error: operation canceled',
        ]);
      }
      const { processes, mounted } = await settled();
      expect(processes).toEqual([]);
      expect(mounted).toBe(false);
      if (signal !== 'SIGKILL')
        expect((await readdir(work)).filter((n) => n.startsWith('copa-run-'))).toEqual([]);
      expect(tagExists(`${registry.host}/debian:${tag}`)).toBe(false);
    },
    300_000,
  );

  it('the next run on the same cache is clean and succeeds', async () => {
    const r = await copa(patchArgs(STAGES[1]!, 'after-signals'));
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    expect(tagExists(`${registry.host}/debian:after-signals`)).toBe(true);
    expect((await readdir(work)).filter((n) => n.startsWith('copa-run-'))).toEqual([]);
    expect(await settled()).toEqual({ processes: [], mounted: false });
  }, 300_000);
});
