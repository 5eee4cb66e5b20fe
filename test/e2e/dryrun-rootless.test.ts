/**
 * `--dry-run` without root (the CLI run as nobody with setpriv): the plan comes from the dpkg database in
 * the layers, says apt did not simulate it, and nothing is mounted or written; update-all says it needs root.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, type CliResult } from '../helpers/cli.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { trivyReport } from '../helpers/trivy.js';
import { upgradablePackages, type Upgradable } from '../helpers/upgradable.js';
import { tagExists } from '../helpers/inspect.js';

let registry: TestRegistry;
let work: string;
let source: string;
let report: string;
let pkg: Upgradable;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-rootless-'));
  await chmod(work, 0o755);
  registry = await startRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  pkg = (await upgradablePackages(fixture))[0]!;
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
  report = join(work, 'report.json');
  await writeFile(
    report,
    trivyReport({
      family: 'debian',
      version: '12',
      arch: 'amd64',
      image: source,
      vulns: [
        { pkg: pkg.name, installed: pkg.from, fixed: pkg.to },
        { pkg: 'not-in-this-image', installed: '1.0', fixed: '1.1' },
      ],
    }),
  );
  await chmod(report, 0o644);
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** The CLI as user nobody (uid 65534). */
function asNobody(args: string[]): Promise<CliResult> {
  return startCli(
    args,
    {
      ...process.env,
      HOME: work,
      COPA_EOL_API_URL: 'off',
    },
    ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
  ).done;
}

describe('--dry-run without root', () => {
  it('plans a report from the layers, says apt did not simulate it, writes nothing', async () => {
    const r = await asNobody(['patch', '-i', source, '-r', report, '--dry-run', '-t', 'rootless', '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as {
      status: string;
      plan: { updates: unknown[]; notInstalled: string[]; note?: string };
    };
    expect(result.status).toBe('DryRun');
    expect(result.plan.updates).toEqual([{ name: pkg.name, from: pkg.from, to: pkg.to }]);
    expect(result.plan.notInstalled).toEqual(['not-in-this-image']);
    expect(result.plan.note).toMatch(/^not root: .*apt did not simulate it/);
    expect(r.stderr).toContain(`${pkg.name} ${pkg.from} -> ${pkg.to}`);
    expect(tagExists(`${registry.host}/debian:rootless`)).toBe(false);
  });

  it('update-all needs root, and says how to run it', async () => {
    const r = await asNobody(['patch', '-i', source, '--dry-run', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      status: 'Error',
      code: 'ENVIRONMENT',
      hint: expect.stringContaining('sudo') as string,
    });
  });
});
