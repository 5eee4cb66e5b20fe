import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { copa, startCli, type CliResult } from '../helpers/cli.js';
import { expectComplete, expectNoTag } from '../helpers/fault-checks.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { imageConfig, rawManifest } from '../helpers/inspect.js';

/**
 * Registry faults through the whole CLI (issue 17 item 3): `copa patch … --push` against the fault proxy
 * in front of a real registry, one cache dir for all runs. A failed run exits non-zero with one typed
 * error, pushes no tag and leaves no layer in the cache; the last run, with faults the client rides out,
 * patches and pushes a complete image from the same cache. Titles read "<fault> on <operation> → <outcome>".
 */

let registry: TestRegistry;
let proxy: FaultProxy;
let work: string;
let cacheDir: string;
let source: string;
let layerDigests: string[];

interface JsonError {
  status: string;
  code: string;
  message: string;
}

const patchArgs = (tag: string, ...extra: string[]): string[] => [
  'patch',
  '-i',
  source,
  '-t',
  tag,
  '--push',
  '--json',
  '--cache-dir',
  cacheDir,
  '-w',
  work,
  ...extra,
];

function jsonError(r: CliResult): JsonError {
  expect(r.code, r.stderr).not.toBe(0);
  return JSON.parse(r.stdout) as JsonError;
}

async function cachedLayers(): Promise<string[]> {
  return readdir(join(cacheDir, 'layers', 'sha256')).catch(() => []);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-faults-'));
  cacheDir = join(work, 'cache');
  registry = await startRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'team/debian:12');
  proxy = await startFaultProxy(registry.host);
  source = `${proxy.host}/team/debian:12`;
  layerDigests = rawManifest(`${registry.host}/team/debian:12`).layers.map((l) => l.digest);
  expect(layerDigests.length).toBeGreaterThan(0);
}, 900_000);

beforeEach(() => {
  proxy.rules.length = 0;
  proxy.requests.length = 0;
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const layerPath = (): RegExp => new RegExp(`/blobs/(${layerDigests.join('|')})$`);

describe('copa patch --push through the fault proxy', () => {
  it('wrong digest (corrupt layer bytes) on pull (copa patch --push) → DIGEST_MISMATCH, no tag, no cache entry', async () => {
    proxy.rules.push({ method: 'GET', path: layerPath(), fault: { kind: 'corrupt' } });
    const r = await copa(patchArgs('12-corrupt'));
    const err = jsonError(r);
    expect(err.code, err.message).toBe('DIGEST_MISMATCH');
    expect(err.message).not.toContain('\n');
    expect(proxy.requests.some((q) => q.fault === 'corrupt')).toBe(true);
    await expectNoTag(`${registry.host}/team/debian:12-corrupt`);
    expect(await cachedLayers()).toEqual([]);
  }, 300_000);

  it('slow trickle past --timeout on layer pull (copa patch --push) → TIMEOUT at the deadline, no tag, no partial cache entry', async () => {
    proxy.rules.push({
      method: 'GET',
      path: layerPath(),
      fault: { kind: 'slow', delayMs: 0, chunkDelayMs: 500 },
    });
    const started = Date.now();
    const r = await copa(patchArgs('12-slow', '--timeout', '8s'));
    const took = Date.now() - started;
    const err = jsonError(r);
    expect(err.code, err.message).toBe('TIMEOUT');
    // the run ends at its deadline, not when the trickle would have finished
    expect(took).toBeLessThan(30_000);
    await expectNoTag(`${registry.host}/team/debian:12-slow`);
    // a layer that finished before the deadline is a complete entry; the trickled one left nothing
    const diffIDs = imageConfig(`${registry.host}/team/debian:12`).rootfs.diff_ids.map((d) => d.slice(7));
    for (const entry of await cachedLayers()) expect(diffIDs).toContain(entry);
    expect(await cachedLayers(), `cached: ${(await cachedLayers()).join(' ')}`).not.toEqual(diffIDs);
    expect(await readdir(join(cacheDir, 'layers', 'tmp')).catch(() => [])).toEqual([]);
  }, 300_000);

  it('503 burst, 429 with Retry-After and a reset mid-upload on push (copa patch --push) → retried and succeeded from the same cache', async () => {
    proxy.rules.push(
      { method: 'GET', path: layerPath(), fault: { kind: 'status', status: 503 }, times: 2 },
      {
        method: 'POST',
        path: /\/blobs\/uploads\/$/,
        fault: { kind: 'status', status: 429, retryAfter: '1' },
        times: 1,
      },
      {
        method: 'PATCH',
        path: /\/blobs\/uploads\//,
        fault: { kind: 'reset-request', afterBytes: 1000 },
        times: 1,
      },
    );
    const r = await copa(patchArgs('12-patched'));
    expect(r.code, r.stderr).toBe(0);
    expect(
      proxy.requests
        .filter((q) => q.fault !== undefined)
        .map((q) => q.fault)
        .sort(),
    ).toEqual(['reset-request', 'status', 'status', 'status']);
    await expectComplete(`${registry.host}/team/debian:12-patched`);
    expect((await cachedLayers()).length).toBe(layerDigests.length);
  }, 600_000);

  it('stalled registry (no answer to a manifest request, a layer that stops mid-body) on pull (copa patch --push, COPA_REGISTRY_TIMEOUT=2) → each attempt given up after 2 s, the layer resumed with Range, succeeded', async () => {
    const fresh = join(work, 'cache-stall');
    const big = rawManifest(`${registry.host}/team/debian:12`).layers.reduce((a, b) =>
      b.size > a.size ? b : a,
    );
    expect(big.size).toBeGreaterThan(100_000);
    proxy.rules.push(
      { path: /\/manifests\/12$/, fault: { kind: 'stall' }, times: 1 },
      // the largest layer: the layers are fetched at once, and a smaller one might take the rule and end
      // before the stall point
      {
        method: 'GET',
        path: new RegExp(`/blobs/${big.digest}$`),
        fault: { kind: 'stall', afterBytes: 100_000 },
        times: 1,
      },
    );
    const started = Date.now();
    const args = patchArgs('12-stalled').map((a) => (a === cacheDir ? fresh : a));
    const r = await copa(args, { ...process.env, COPA_REGISTRY_TIMEOUT: '2' });
    expect(r.code, r.stderr).toBe(0);
    // undici's own limits (300 s for headers, 300 s between body bytes) would have held the run for 600 s
    // or more; the bound leaves room for a busy machine's apt run
    expect(Date.now() - started).toBeLessThan(300_000);
    const stalled = proxy.requests.filter((q) => q.fault === 'stall');
    expect(stalled.length).toBe(2);
    const stalledLayer = stalled.find((q) => q.url.endsWith(big.digest));
    expect(stalledLayer?.method).toBe('GET');
    // the stalled layer was asked for again from the byte it got to, not from the start
    const again = proxy.requests.filter(
      (q) => q.method === 'GET' && q.url === stalledLayer?.url && q.fault === undefined,
    );
    // (all 100000 bytes, unless the client had not read them all when it gave up)
    expect(again).toHaveLength(1);
    const from = /^bytes=(\d+)-$/.exec(String(again[0]?.headers.range))?.[1];
    expect(Number(from), `Range: ${again[0]?.headers.range}`).toBeGreaterThan(0);
    expect(Number(from)).toBeLessThanOrEqual(100_000);
    await expectComplete(`${registry.host}/team/debian:12-stalled`);
  }, 600_000);

  /**
   * A PatchConfig whose one tag's manifest request stalls; `argv(file)` is started, and once the stall is
   * reached it gets SIGINT. Returns the run's result and how long it took to end after the signal.
   */
  async function interruptedWhileStalled(
    name: string,
    targetTag: string,
    argv: (file: string) => string[],
  ): Promise<{ r: CliResult; afterSignalMs: number }> {
    const file = join(work, `${name}.yaml`);
    await writeFile(
      file,
      `apiVersion: copa.sh/v1alpha1\nkind: PatchConfig\nimages:\n  - name: stalled\n    image: ${proxy.host}/team/debian\n    tags: {strategy: list, list: ["12"]}\n    target: {tag: "${targetTag}"}\n`,
    );
    proxy.rules.push({ path: /\/manifests\/12$/, fault: { kind: 'stall' } });
    const before = proxy.requests.filter((q) => q.fault === 'stall').length;
    const { child, done } = startCli(argv(file));
    const stalled = () => proxy.requests.filter((q) => q.fault === 'stall').length > before;
    for (let i = 0; i < 300 && !stalled(); i++) await sleep(100);
    expect(stalled()).toBe(true);
    const interrupted = Date.now();
    child.kill('SIGINT');
    const r = await done;
    return { r, afterSignalMs: Date.now() - interrupted };
  }

  it('stalled registry while a bulk run plans (copa patch --config, Ctrl-C) → the request in flight stops at once, exit 130, no tag', async () => {
    const { r, afterSignalMs } = await interruptedWhileStalled('bulk-stall', '12-bulk-stalled', (file) => [
      'patch',
      '--config',
      file,
      '--push',
      '--cache-dir',
      join(work, 'cache-bulk'),
    ]);
    // without the run's signal on its registry client the stalled request held the run for the whole
    // registry timeout (60 s) before Ctrl-C took effect
    expect(afterSignalMs).toBeLessThan(10_000);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('Error: '))).toEqual([
      'Error: operation canceled',
    ]);
    await expectNoTag(`${registry.host}/team/debian:12-bulk-stalled`);
  }, 300_000);

  it('stalled registry while copa plan --config discovers tags (Ctrl-C) → the request in flight stops at once, exit 130, no plan file', async () => {
    const planFile = join(work, 'stalled-plan.json');
    const { r, afterSignalMs } = await interruptedWhileStalled('plan-stall', '12-plan-stalled', (file) => [
      'plan',
      '--config',
      file,
      '-o',
      planFile,
    ]);
    expect(afterSignalMs).toBeLessThan(10_000);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('Error: '))).toEqual([
      'Error: operation canceled',
    ]);
    expect(existsSync(planFile)).toBe(false);
    expect((await readdir(work)).filter((n) => n.startsWith('stalled-plan.json'))).toEqual([]);
  }, 300_000);
});
