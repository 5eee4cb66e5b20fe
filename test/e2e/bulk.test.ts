import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa } from '../helpers/cli.js';
import { pushTagsSharingBase } from '../helpers/bulk-fixtures.js';
import { ensureDebianFixture, type DebianFixture } from '../helpers/fixtures.js';
import { dpkgGe, pullToLayout, rawManifest, tagExists } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { trivyReport } from '../helpers/trivy.js';
import {
  installedVersions,
  upgradablePackages,
  withUnpackedImage,
  type Upgradable,
} from '../helpers/upgradable.js';

/**
 * Bulk mode end to end: tags that share a base in a real local registry, `copa patch --config` with each
 * tag strategy, the -N bumps and -r skips of a second run, usage errors, and a plan run as 3 shards.
 */

let registry: TestRegistry;
let fixture: DebianFixture;
let upgradable: Upgradable[];
let work: string;
let host: string;

interface Summary {
  jobs: Array<{
    name: string;
    status: string;
    source: string;
    patchedTag: string;
    details: string;
    digest?: string;
  }>;
  counts: Record<string, number>;
  total: number;
}

const cacheDir = (): string => join(work, 'cache');

/** sha256 of the manifest bytes the registry serves for a tag (skopeo, not our client) */
function manifestDigest(ref: string): string {
  const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

const shardRun = (planFile: string, i: number, results: string) =>
  copa([
    'patch',
    '--plan',
    planFile,
    '--shard',
    `${i}/3`,
    '--push',
    '--cache-dir',
    cacheDir(),
    '--results',
    results,
  ]);
const errorLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('Error:'));

async function config(name: string, images: string): Promise<string> {
  const file = join(work, name);
  await writeFile(file, `apiVersion: copa.sh/v1alpha1\nkind: PatchConfig\nimages:\n${images}`);
  return file;
}

/** The target has the source's layers plus one, and every upgradable package at its candidate or newer. */
async function expectPatched(source: string, target: string): Promise<void> {
  const src = rawManifest(source).layers.map((l) => l.digest);
  const out = rawManifest(target);
  expect(out.layers.map((l) => l.digest).slice(0, src.length)).toStrictEqual(src);
  expect(out.layers).toHaveLength(src.length + 1);
  expect(out.annotations?.['sh.copa.bulk.job-id']).toMatch(/^[a-f0-9]{16}$/);
  const layout = await pullToLayout(target, work);
  const installed = await withUnpackedImage(layout, 'x', (root) => installedVersions(root));
  for (const u of upgradable) {
    const v = installed.get(u.name);
    expect(v, u.name).toBeDefined();
    expect(dpkgGe(v as string, u.to), `${u.name} ${v} >= ${u.to}`).toBe(true);
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-bulk-'));
  registry = await startRegistry();
  host = registry.host;
  fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  upgradable = await upgradablePackages(fixture);
  await pushTagsSharingBase(fixture, host, 'app', ['1.0.0', '1.1.0', '1.2.0', '1.3.0-rc1', 'latest']);
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('copa patch --config', () => {
  it('patches the tags of each strategy (list, pattern with maxTags/exclude, latest) on a bounded pool', async () => {
    const file = await config(
      'bulk.yaml',
      `  - name: listed
    image: ${host}/app
    tags: {strategy: list, list: ["1.0.0"]}
  - name: pattern
    image: ${host}/app
    tags: {strategy: pattern, pattern: '^1\\.[0-9]+\\.[0-9]+', maxTags: 2, exclude: ["1.2.0"]}
    target: {tag: "{{ .SourceTag }}-fixed"}
  - name: newest
    image: ${host}/app
    tags: {strategy: latest}
    target: {registry: ${host}/out}
`,
    );
    const r = await copa([
      'patch',
      '--config',
      file,
      '--push',
      '--cache-dir',
      cacheDir(),
      '--jobs',
      '2',
      '--json',
    ]);
    expect(errorLines(r.stderr)).toStrictEqual([]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as Summary;
    expect(summary.counts).toStrictEqual({ Patched: 4, Skipped: 0, Failed: 0, Error: 0 });
    // the table on stderr, Copa's columns, sorted by name then source
    const table = r.stderr.slice(r.stderr.indexOf('NAME'));
    expect(table.split('\n')[0]).toMatch(/^NAME\s+STATUS\s+SOURCE IMAGE\s+PATCHED TAG\s+DETAILS$/);
    expect(
      summary.jobs.map((j) => [j.name, j.status, j.source.replace(`${host}/`, ''), j.patchedTag]),
    ).toStrictEqual([
      ['listed', 'Patched', 'app:1.0.0', '1.0.0-patched'],
      ['newest', 'Patched', 'app:1.2.0', '1.2.0-patched'],
      // 1.2.0 excluded, 1.3.0-rc1 a prerelease, `latest` no version: the 2 highest left
      ['pattern', 'Patched', 'app:1.0.0', '1.0.0-fixed'],
      ['pattern', 'Patched', 'app:1.1.0', '1.1.0-fixed'],
    ]);
    await expectPatched(`${host}/app:1.0.0`, `${host}/app:1.0.0-patched`);
    await expectPatched(`${host}/app:1.1.0`, `${host}/app:1.1.0-fixed`);
    await expectPatched(`${host}/app:1.2.0`, `${host}/out/app:1.2.0-patched`);
    // the pushed digests are the ones the summary reports
    expect(rawManifest(`${host}/out/app:1.2.0-patched`).layers).toHaveLength(4);
  });

  it('a second run bumps to -1; with -r reports that show nothing fixable it skips', async () => {
    const file = await config(
      'again.yaml',
      `  - name: listed
    image: ${host}/app
    tags: {strategy: list, list: ["1.0.0"]}
`,
    );
    const again = await copa(['patch', '--config', file, '--push', '--cache-dir', cacheDir(), '--json']);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as Summary).jobs[0]?.patchedTag).toBe('1.0.0-patched-1');
    await expectPatched(`${host}/app:1.0.0`, `${host}/app:1.0.0-patched-1`);

    // a scan of the newest patched tag with nothing fixable: skip, and report that tag
    const reports = join(work, 'reports');
    await mkdir(reports, { recursive: true });
    await writeFile(
      join(reports, 'any-name.json'),
      trivyReport({
        family: 'debian',
        version: '12',
        arch: 'amd64',
        image: `${host}/app:1.0.0-patched-1`,
        vulns: [],
      }),
    );
    const skip = await copa([
      'patch',
      '--config',
      file,
      '--push',
      '-r',
      reports,
      '--cache-dir',
      cacheDir(),
      '--json',
    ]);
    expect(skip.code).toBe(0);
    const job = (JSON.parse(skip.stdout) as Summary).jobs[0];
    expect(job).toMatchObject({
      status: 'Skipped',
      patchedTag: '1.0.0-patched-1',
      details: 'no fixable vulnerabilities',
    });
    expect(tagExists(`${host}/app:1.0.0-patched-2`)).toBe(false);

    // the report lists a fixable package: patch again, from the original source, to -2
    const u = upgradable[0] as Upgradable;
    await writeFile(
      join(reports, 'any-name.json'),
      trivyReport({
        family: 'debian',
        version: '12',
        arch: 'amd64',
        image: `${host}/app:1.0.0-patched-1`,
        vulns: [{ pkg: u.name, installed: u.from, fixed: u.to }],
      }),
    );
    const bump = await copa([
      'patch',
      '--config',
      file,
      '--push',
      '-r',
      reports,
      '--cache-dir',
      cacheDir(),
      '--json',
    ]);
    expect(bump.code).toBe(0);
    expect((JSON.parse(bump.stdout) as Summary).jobs[0]).toMatchObject({
      status: 'Patched',
      patchedTag: '1.0.0-patched-2',
    });
    // built on the source, not on the previous patch: source layers + 1
    await expectPatched(`${host}/app:1.0.0`, `${host}/app:1.0.0-patched-2`);
  });

  it('usage errors exit 2 with one line, before anything is pulled', async () => {
    const good = await config(
      'ok.yaml',
      `  - name: x\n    image: ${host}/app\n    tags: {strategy: latest}\n`,
    );
    const fresh = join(work, 'untouched-cache');
    const cases: Array<[string[], RegExp]> = [
      [['--config', good, '-i', `${host}/app:1.0.0`], /--config cannot be combined with --image/],
      [['--config', good, '-t', 'x'], /--config cannot be combined with --tag/],
      [['--config', good, '-r', good], /-r\/--report is a directory/],
      [['--config', join(work, 'missing.yaml')], /missing\.yaml/],
      [['--config', good, '--jobs', '0'], /--jobs/],
      [['-i', `${host}/app:1.0.0`, '--shard', '1/2'], /--shard is a bulk-mode flag/],
      [['--config', good, '--shard', '1/2'], /--shard\/--shards need --plan/],
    ];
    const bad = await config(
      'bad.yaml',
      `  - name: x\n    image: ${host}/app\n    tags: {strategy: newest}\n`,
    );
    cases.push([['--config', bad], /bad\.yaml: images\[0\]\.tags\.strategy: .*list, pattern, latest/]);
    const syntax = join(work, 'syntax.yaml');
    await writeFile(syntax, 'apiVersion: copa.sh/v1alpha1\nkind: PatchConfig\nimages: [\n');
    cases.push([['--config', syntax], /syntax\.yaml/]);
    for (const [args, message] of cases) {
      const r = await copa(['patch', ...args, '--push', '--cache-dir', fresh]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(errorLines(r.stderr), args.join(' ')).toHaveLength(1);
      expect(errorLines(r.stderr)[0], args.join(' ')).toMatch(message);
    }
    await expect(readdir(fresh)).rejects.toThrow(); // nothing pulled, no cache made
  });

  it('a repository without tags (registry 404) is "no tags": zero jobs, exit 0', async () => {
    const file = await config(
      'empty.yaml',
      `  - name: none\n    image: ${host}/does-not-exist\n    tags: {strategy: latest}\n`,
    );
    const r = await copa(['patch', '--config', file, '--push', '--cache-dir', cacheDir(), '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/has no tags/);
    expect((JSON.parse(r.stdout) as Summary).total).toBe(0);
  });

  it('--dry-run prints the jobs and writes nothing', async () => {
    const file = await config(
      'dry.yaml',
      `  - name: dry\n    image: ${host}/app\n    tags: {strategy: list, list: ["1.1.0"]}\n`,
    );
    const r = await copa(['patch', '--config', file, '--push', '--dry-run', '--cache-dir', cacheDir()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`dry\\s+patch\\s+${host}/app:1\\.1\\.0\\s+${host}/app:1\\.1\\.0-patched\\s+sha256:`),
    );
    expect(tagExists(`${host}/app:1.1.0-patched`)).toBe(false);
  });
});

describe('copa plan, copa patch --plan --shard, copa plan merge', () => {
  it('3 shards in parallel give the one-process result; a shard run again redoes nothing', async () => {
    await pushTagsSharingBase(fixture, host, 'sharded', ['2.0.0', '2.1.0', '2.2.0', '2.3.0']);
    const file = await config(
      'shards.yaml',
      `  - name: sharded\n    image: ${host}/sharded\n    tags: {strategy: pattern, pattern: '^2\\.'}\n  - name: gone\n    image: ${host}/sharded\n    tags: {strategy: list, list: ["9.9.9"]}\n`,
    );
    const planFile = join(work, 'plan.json');
    const p = await copa(['plan', '--config', file, '-o', planFile]);
    expect(p.code).toBe(0);
    const plan = JSON.parse(await readFile(planFile, 'utf8')) as {
      kind: string;
      version: number;
      jobs: Array<{ id: string; action: string; sourceDigest?: string; target: string }>;
    };
    expect(plan).toMatchObject({ kind: 'CopaBulkPlan', version: 1 });
    expect(plan.jobs.filter((j) => j.action === 'patch')).toHaveLength(4);
    for (const j of plan.jobs.filter((j) => j.action === 'patch')) expect(j.sourceDigest).toMatch(/^sha256:/);

    // the one-machine result, for comparison: a dry run of the same config plans the same targets
    const dry = await copa(['patch', '--config', file, '--dry-run', '--json']);
    const dryJobs = (JSON.parse(dry.stdout) as { jobs: Array<{ id: string; target: string }> }).jobs;
    expect(dryJobs.map((j) => [j.id, j.target])).toStrictEqual(plan.jobs.map((j) => [j.id, j.target]));

    const results = [1, 2, 3].map((i) => join(work, `shard-${i}.jsonl`));
    const runs = await Promise.all([1, 2, 3].map((i) => shardRun(planFile, i, results[i - 1] as string)));
    // the shard holding the missing tag fails (do not retry: exit 1), the others succeed
    expect(runs.map((r) => r.code).sort()).toStrictEqual([0, 0, 1]);
    const merged = await copa(['plan', 'merge', ...results, '--plan', planFile, '--json']);
    expect(merged.code).toBe(1);
    const summary = JSON.parse(merged.stdout) as Summary;
    expect(summary.counts).toStrictEqual({ Patched: 4, Skipped: 0, Failed: 0, Error: 1 });
    for (const j of summary.jobs.filter((x) => x.status === 'Patched')) {
      // what the summary says was pushed is what the registry holds
      expect(manifestDigest(`${host}/sharded:${j.patchedTag}`)).toBe(j.digest);
      await expectPatched(j.source, `${host}/sharded:${j.patchedTag}`);
    }
    const merged2 = await copa(['plan', 'merge', ...results, '--ignore-errors']);
    expect(merged2.code).toBe(0);

    // run shard 1 again without its results file: its outputs are recognised by their job id, not pushed twice
    await rm(results[0] as string);
    const again = await shardRun(planFile, 1, results[0] as string);
    const lines = (await readFile(results[0] as string, 'utf8')).trim().split('\n').filter(Boolean);
    for (const l of lines) {
      const r = JSON.parse(l) as { status: string; resumed?: boolean };
      if (r.status === 'Patched') expect(r.resumed).toBe(true);
    }
    expect([0, 1]).toContain(again.code);
    // and with its results file: nothing is redone at all
    const third = await shardRun(planFile, 1, results[0] as string);
    expect(third.stderr).toMatch(/finished in an earlier attempt: not redone|Running 0 job/);
  });
});
