import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDockerd, type TestDocker } from '../helpers/dockerd.js';
import { CommandError, run } from '../helpers/exec.js';
import { ensureDebianFixture, fixtureCacheRoot, pushFixture } from '../helpers/fixtures.js';
import { dpkgGe, imageConfig, pullToLayout, rawManifest, tagExists } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { trivyReport } from '../helpers/trivy.js';
import {
  installedVersions,
  upgradablePackages,
  withUnpackedImage,
  type Upgradable,
} from '../helpers/upgradable.js';

/**
 * The container image of copa (`npm run image`: mmdebstrap rootfs + Node.js + the npm package, assembled by
 * copa's own OCI writer), loaded into a real Docker 20.10 engine and run the documented way
 * (`docker run --privileged --network host …`) to patch a real bookworm fixture in a local registry.
 * The rootfs and Node layers are cached by key under COPA_TEST_CACHE/copa-image.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TAG = 'copa-e2e:image';

interface BuildSummary {
  digest: string;
  version: string;
  compressedBytes: number;
  layers: Array<{ digest: string; diffID: string; size: number }>;
  seconds: number;
}

let work: string;
let registry: TestRegistry;
let docker: TestDocker;
let source: string;
let upgradable: Upgradable[];
let summary: BuildSummary;
let version: string;
let chosen: Upgradable[];
/** holds report.json, mounted at /in */
let input: string;

/** capability numbers -> docker's names (linux/capability.h order) */
const CAP_NAMES = (
  'CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE ' +
  'NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT ' +
  'SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE ' +
  'AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ ' +
  'PERFMON BPF CHECKPOINT_RESTORE'
).split(' ');

/**
 * `--privileged`, or — where this host's own capability bounding set lacks some capability (runc then fails
 * with "unable to apply caps") — the same thing spelled out without those: every other capability, no
 * seccomp/AppArmor profile, unmasked /proc and /sys. The README documents both forms.
 */
async function privilegedFlags(): Promise<string[]> {
  const status = await readFile('/proc/self/status', 'utf8');
  const bnd = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0'}`);
  const last = Number((await readFile('/proc/sys/kernel/cap_last_cap', 'utf8')).trim());
  const missing: string[] = [];
  for (let i = 0; i <= last; i++) if (!((bnd >> BigInt(i)) & 1n)) missing.push(CAP_NAMES[i] ?? String(i));
  if (missing.length === 0) return ['--privileged'];
  if (missing.some((m) => /^\d+$/.test(m) || m === 'SYS_ADMIN')) {
    throw new Error(`this host lacks capabilities copa needs or that cannot be named: ${missing.join(', ')}`);
  }
  return [
    '--cap-add=ALL',
    ...missing.map((m) => `--cap-drop=${m}`),
    '--security-opt=seccomp=unconfined',
    '--security-opt=apparmor=unconfined',
    '--security-opt=systempaths=unconfined',
  ];
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-image-'));
  await chmod(work, 0o755);
  version = (JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  registry = await startRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  upgradable = await upgradablePackages(fixture);
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
  const pick = upgradable.filter((u) => ['libssl3', 'openssl', 'libexpat1'].includes(u.name));
  chosen = pick.length > 0 ? pick : upgradable.slice(0, 2);
  if (chosen.length === 0) throw new Error('the fixture has nothing to upgrade today: nothing to test');
  input = join(work, 'in');
  await mkdir(input, { mode: 0o755 });
  await writeFile(
    join(input, 'report.json'),
    trivyReport({
      family: 'debian',
      version: '12',
      arch: 'amd64',
      image: source,
      vulns: chosen.map((u) => ({ pkg: u.name, installed: u.from, fixed: u.to })),
    }),
  );
  const archive = join(work, 'copa-image.tar');
  const built = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/image/build.ts',
      '--docker-archive',
      archive,
      '--tag',
      TAG,
      '--cache-dir',
      join(fixtureCacheRoot(), 'copa-image'),
      '--skip-build', // the test command has just run `npm run build`
      '--json',
    ],
    { cwd: REPO, timeoutMs: 900_000 },
  );
  summary = JSON.parse(built.stdout) as BuildSummary;
  docker = await startDockerd();
  await docker.docker(['load', '-i', archive]);
}, 1_200_000);

afterAll(async () => {
  await docker?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the copa container image under Docker 20.10', () => {
  it('docker loads it as built: entrypoint copa, OCI labels, the same three layers', async () => {
    const out = await docker.docker(['image', 'inspect', TAG]);
    const [info] = JSON.parse(out.stdout) as Array<{
      Config: { Entrypoint: string[]; Labels: Record<string, string>; Env: string[] };
      RootFS: { Layers: string[] };
      Size: number;
    }>;
    expect(info?.Config.Entrypoint).toEqual(['copa']);
    expect(info?.Config.Labels['org.opencontainers.image.version']).toBe(version);
    expect(info?.Config.Labels['org.opencontainers.image.title']).toBe('copa');
    expect(info?.Config.Env).toContain('COPA_CACHE_DIR=/var/cache/copa');
    expect(info?.RootFS.Layers).toEqual(summary.layers.map((l) => l.diffID));
    expect(summary.compressedBytes).toBe(summary.layers.reduce((n, l) => n + l.size, 0));
  });

  it('the CLI inside prints its version', async () => {
    const out = await docker.docker(['run', '--rm', TAG, '--version']);
    expect(out.stdout.trim()).toBe(version);
  });

  it('docker run --privileged (or its spelled-out form) --network host … patch -r report --push: one more layer, packages upgraded', async () => {
    const r = await patchThrough(await privilegedFlags(), '12-patched');
    const result = JSON.parse(r.stdout) as { status: string; patchedImage: string };
    expect(result.status).toBe('Patched');
    expect(result.patchedImage).toBe(`${registry.host}/debian:12-patched`);
    await checkPatched(`${registry.host}/debian:12-patched`);
  });

  it('less than --privileged is enough: --cap-add SYS_ADMIN with no AppArmor profile', async () => {
    const r = await patchThrough(['--cap-add=SYS_ADMIN', '--security-opt=apparmor=unconfined'], '12-capadd');
    expect((JSON.parse(r.stdout) as { status: string }).status).toBe('Patched');
    await checkPatched(`${registry.host}/debian:12-capadd`);
  });

  it('without privileges: a non-zero exit, one error line whose next step names --privileged, nothing pushed', async () => {
    const failed = await patchThrough([], '12-nopriv').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(CommandError);
    const err = failed as CommandError;
    expect(err.exitCode).not.toBe(0);
    expect(err.exitCode).not.toBe(125); // 125 would be docker's own failure, not copa's
    const errors = err.stderr.split('\n').filter((l) => l.startsWith('Error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('unshare failed: Operation not permitted');
    expect(err.stderr).toMatch(/next step: .*docker run --privileged/);
    const json = JSON.parse(err.stdout) as { status: string; code: string; exitCode: number; hint?: string };
    expect(json).toMatchObject({ status: 'Error', code: 'ENVIRONMENT', exitCode: err.exitCode });
    expect(json.hint).toContain('--privileged');
    expect(tagExists(`${registry.host}/debian:12-nopriv`)).toBe(false);
  });
});

/** `docker run --rm FLAGS --network host -v <report dir>:/in:ro IMAGE patch -i SOURCE -r /in/report.json -t TAG --push`. */
function patchThrough(flags: string[], tag: string): Promise<{ stdout: string; stderr: string }> {
  const argv = ['patch', '-i', source, '-r', '/in/report.json', '-t', tag, '--push', '--json'];
  const runArgs = ['run', '--rm', ...flags, '--network', 'host', '-v', `${input}:/in:ro`, TAG, ...argv];
  return docker.docker(runArgs, { timeoutMs: 600_000 });
}

/** The pushed image: the source's layers plus one, and the reported packages at their fixed versions. */
async function checkPatched(patched: string): Promise<void> {
  const before = rawManifest(source);
  const after = rawManifest(patched);
  expect(after.layers).toHaveLength(before.layers.length + 1);
  expect(after.layers.slice(0, -1).map((l) => l.digest)).toEqual(before.layers.map((l) => l.digest));
  expect(imageConfig(patched).config?.Labels?.BaseImage).toBe(source);
  const layout = await pullToLayout(patched, work);
  await withUnpackedImage(layout, 'x', async (root) => {
    const versions = await installedVersions(root);
    for (const u of chosen)
      expect(dpkgGe(versions.get(u.name) ?? '0', u.to), `${u.name} >= ${u.to}`).toBe(true);
  });
}
