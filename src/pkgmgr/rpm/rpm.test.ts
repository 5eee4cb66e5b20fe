import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordingLogger, replayContext, replaySession } from '../../../test/helpers/rpm-replay.js';
import { CopaError } from '../../errors.js';
import { dnfChrootManager, TARGET } from './chroot.js';
import { inImageRpmManager } from './inimage.js';
import { RESULTS_QUERY_FORMAT } from './parse.js';
import {
  chooseRpmStrategy,
  dnfChrootToolingImages,
  marinerToolingImages,
  readRpmFacts,
  releaseVer,
  rpmDbKind,
  zypperToolingImages,
  type RpmFacts,
} from './probe.js';
import { zypperChrootManager } from './zypper.js';

const data = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
const QA = ['rpm', '-qa', '--queryformat', RESULTS_QUERY_FORMAT];
const QA_ROOT = ['rpm', `--root=${TARGET}`, '-qa', '--queryformat', RESULTS_QUERY_FORMAT];
const update = { reportMode: false, ignoreErrors: false };

function thrown(f: () => unknown): CopaError {
  try {
    f();
  } catch (e) {
    if (e instanceof CopaError) return e;
    throw e;
  }
  throw new Error('expected a CopaError');
}

describe('RPM database kind (Copa getRPMDBType)', () => {
  it('finds exactly one kind, else none or mixed', () => {
    expect(rpmDbKind(['Packages', '__db.001'], [])).toBe('bdb');
    expect(rpmDbKind(['Packages.db', 'Index.db'], [])).toBe('ndb');
    expect(rpmDbKind(['rpmdb.sqlite', 'rpmdb.sqlite-shm'], [])).toBe('sqlite');
    expect(rpmDbKind([], ['container-manifest-1', 'container-manifest-2'])).toBe('manifests');
    expect(rpmDbKind([], ['container-manifest-1'])).toBe('none');
    expect(rpmDbKind([], [])).toBe('none');
    expect(rpmDbKind(['Packages', 'rpmdb.sqlite'], [])).toBe('mixed');
  });

  it('reads tools and database from directory listings only', async () => {
    const session = replaySession({
      steps: [],
      dirs: {
        '/usr/bin': ['bash', 'dnf', 'dnf-3', 'microdnf', 'rpm', 'yum'],
        '/var/lib/rpm': ['rpmdb.sqlite'],
      },
    });
    expect(await readRpmFacts(session)).toEqual({
      tools: ['dnf', 'yum', 'microdnf'],
      rpm: true,
      db: 'sqlite',
    });
    expect(session.calls).toEqual([]);
  });
});

describe('RPM strategy (Copa §2.6)', () => {
  const facts = (over: Partial<RpmFacts>): RpmFacts => ({ tools: ['dnf'], rpm: true, db: 'sqlite', ...over });
  const rocky = { type: 'rocky', version: '9.3' };

  it('prefers tdnf, then dnf, yum, microdnf in the image', () => {
    expect(chooseRpmStrategy(rocky, facts({ tools: ['tdnf', 'dnf'] }), update)).toEqual({
      kind: 'in-image',
      tool: 'tdnf',
      db: 'sqlite',
    });
    expect(chooseRpmStrategy(rocky, facts({ tools: ['yum', 'microdnf'], db: 'bdb' }), update)).toEqual({
      kind: 'in-image',
      tool: 'yum',
      db: 'bdb',
    });
    expect(chooseRpmStrategy(rocky, facts({ tools: ['microdnf'] }), update)).toEqual({
      kind: 'in-image',
      tool: 'microdnf',
      db: 'sqlite',
    });
  });

  it('goes through a dnf tooling image without a package manager or without rpm', () => {
    expect(chooseRpmStrategy(rocky, facts({ tools: [] }), update)).toEqual({
      kind: 'dnf-chroot',
      db: 'sqlite',
    });
    expect(chooseRpmStrategy(rocky, facts({ rpm: false }), update)).toEqual({
      kind: 'dnf-chroot',
      db: 'sqlite',
    });
  });

  it('manifests only = Mariner distroless; SUSE = zypper; no or mixed database = error', () => {
    expect(
      chooseRpmStrategy(
        { type: 'cbl-mariner', version: '2.0' },
        facts({ tools: [], rpm: false, db: 'manifests' }),
        update,
      ).kind,
    ).toBe('manifests');
    expect(
      chooseRpmStrategy({ type: 'sles', version: '15.6' }, facts({ tools: [], db: 'ndb' }), update).kind,
    ).toBe('zypper-chroot');
    expect(thrown(() => chooseRpmStrategy(rocky, facts({ db: 'none' }), update)).message).toBe(
      'could not determine the RPM database type of the image (none found)',
    );
    expect(thrown(() => chooseRpmStrategy(rocky, facts({ db: 'mixed' }), update)).code).toBe(
      'UNSUPPORTED_OS',
    );
  });

  it('Oracle Linux with a report needs --ignore-errors', () => {
    const oracle = { type: 'oracle', version: '8.9' };
    const err = thrown(() => chooseRpmStrategy(oracle, facts({}), { reportMode: true, ignoreErrors: false }));
    expect(err.message).toBe('detected Oracle image passed in with a report');
    expect(err.hint).toMatch(/--ignore-errors/);
    expect(chooseRpmStrategy(oracle, facts({}), { reportMode: true, ignoreErrors: true }).kind).toBe(
      'in-image',
    );
    expect(chooseRpmStrategy(oracle, facts({}), update).kind).toBe('in-image');
  });
});

describe('tooling images (Copa getChrootToolImage / getRPMImageName)', () => {
  it('dnf chroot tooling per distro', () => {
    const t = (type: string, version: string) => dnfChrootToolingImages({ type, version })[0];
    expect(t('redhat', '9.4')).toBe('docker.io/library/almalinux:9');
    expect(t('alma', '8.10')).toBe('docker.io/library/almalinux:8');
    expect(t('almalinux', '9.4')).toBe('docker.io/library/almalinux:9');
    expect(t('centos', '9')).toBe('quay.io/centos/centos:stream9');
    expect(t('rocky', '9.3')).toBe('docker.io/library/rockylinux:9');
    expect(t('amazon', '2023')).toBe('docker.io/library/amazonlinux:2023');
    expect(t('oracle', '8.9')).toBe('docker.io/library/oraclelinux:8');
    expect(t('azurelinux', '3.0')).toBe('docker.io/library/almalinux:9');
  });

  it('zypper and tdnf tooling, mirror first', () => {
    expect(zypperToolingImages({ type: 'sles', version: '15.6' })).toEqual([
      'ghcr.io/project-copacetic/copacetic/bci/bci-base:15.6',
      'registry.suse.com/bci/bci-base:15.6',
    ]);
    expect(zypperToolingImages({ type: 'opensuse-leap', version: '15.5' })[1]).toBe(
      'registry.opensuse.org/opensuse/leap:15.5',
    );
    expect(zypperToolingImages({ type: 'opensuse-tumbleweed', version: '20240101' })[1]).toBe(
      'registry.opensuse.org/opensuse/tumbleweed:20240101',
    );
    expect(marinerToolingImages({ type: 'azurelinux', version: '3.0.20240101' })[1]).toBe(
      'mcr.microsoft.com/azurelinux/base/core:3.0',
    );
    expect(
      marinerToolingImages({ type: 'cbl-mariner', version: '2.0' }, { type: 'cbl-mariner', version: '1' })[1],
    ).toBe('mcr.microsoft.com/cbl-mariner/base/core:1.0');
    expect(marinerToolingImages({ type: 'redhat', version: '9' })[1]).toBe(
      'mcr.microsoft.com/cbl-mariner/base/core:2.0',
    );
    expect(releaseVer('9.3.1')).toBe('9.3');
    expect(releaseVer('2023')).toBe('2023');
  });
});

describe('in-image managers run Copa commands', () => {
  it('[constructed] tdnf: makecache --refresh, check-update, upgrade --refresh <names> -y', async () => {
    const pm = inImageRpmManager('tdnf');
    const session = replaySession({
      steps: [
        {
          argv: ['tdnf', 'makecache', '--refresh', '-y'],
          result: { stdout: 'Refreshing metadata for: mariner-official-base\nMetadata cache created.\n' },
        },
        { argv: QA, result: { stdout: 'openssl\t3.0.13-5.cm2\tx86_64\ncurl\t7.86.0-8.cm2\tx86_64\n' } },
        {
          argv: ['tdnf', '-q', 'check-update', 'openssl', 'curl'],
          result: { stdout: data('tdnf-check-update.constructed.txt') },
        },
        { argv: ['tdnf', 'upgrade', '--refresh', 'openssl', 'curl', '-y'] },
      ],
    });
    const ctx = replayContext(session);
    await pm.refresh(ctx);
    expect(await pm.simulate(ctx, ['openssl', 'curl'])).toEqual([
      { name: 'curl', from: '7.86.0-8.cm2', to: '7.86.0-9.cm2' },
      { name: 'openssl', from: '3.0.13-5.cm2', to: '3.0.13-6.cm2' },
      { name: 'openssl-libs', from: undefined, to: '3.0.13-6.cm2' },
    ]);
    await pm.apply(ctx, ['openssl', 'curl']);
    expect(session.pending).toEqual([]);
    expect(pm.cachePaths).toEqual(['/var/cache/tdnf']);
  });

  it('[constructed] yum: makecache fast, check-update (exit 100), upgrade -y', async () => {
    const pm = inImageRpmManager('yum');
    const session = replaySession({
      steps: [
        { argv: ['yum', 'makecache', 'fast'] },
        { argv: QA, result: { stdout: 'openssl\t1:1.0.2k-25.el7_9\tx86_64\n' } },
        {
          argv: ['yum', '-q', 'check-update'],
          result: { code: 100, stdout: data('yum-check-update.constructed.txt') },
        },
        { argv: ['yum', 'upgrade', '-y'] },
      ],
    });
    const ctx = replayContext(session);
    await pm.refresh(ctx);
    expect((await pm.simulate(ctx, null)).map((u) => u.name)).toEqual([
      'openssl',
      'openssl-libs',
      'python-perf',
    ]);
    await pm.apply(ctx, null);
    expect(session.pending).toEqual([]);
  });

  it('[constructed] microdnf: no refresh step, repoquery for the plan, update <names> -y', async () => {
    const pm = inImageRpmManager('microdnf');
    const session = replaySession({
      steps: [
        { argv: QA, result: { stdout: 'openssl-libs\t1:3.0.7-24.el9\tx86_64\n' } },
        {
          argv: ['microdnf', 'repoquery', 'openssl-libs'],
          result: { stdout: data('microdnf-repoquery.constructed.txt') },
        },
        { argv: ['microdnf', 'update', 'openssl-libs', '-y'] },
      ],
    });
    const ctx = replayContext(session);
    await pm.refresh(ctx);
    expect(await pm.simulate(ctx, ['openssl-libs'])).toEqual([
      { name: 'openssl-libs', from: '1:3.0.7-24.el9', to: '1:3.0.7-25.el9_3' },
    ]);
    await pm.apply(ctx, ['openssl-libs']);
    expect(session.pending).toEqual([]);
  });

  it('finds the tool on first use when the caller did not read the facts', async () => {
    const pm = inImageRpmManager();
    const session = replaySession({
      steps: [{ argv: ['dnf', 'makecache', '--refresh', '-y'] }],
      dirs: { '/usr/bin': ['dnf', 'rpm'], '/var/lib/rpm': ['rpmdb.sqlite'] },
    });
    await pm.refresh(replayContext(session));
    expect(session.pending).toEqual([]);
    const bare = inImageRpmManager();
    const none = replaySession({ steps: [], dirs: { '/usr/bin': [], '/var/lib/rpm': ['Packages'] } });
    await expect(bare.refresh(replayContext(none))).rejects.toThrow('the image has no RPM package manager');
  });

  it('[recorded] a repository dnf could not reach fails the refresh, or warns with --ignore-errors', async () => {
    const output = data('dnf-makecache-unreachable.recorded.txt');
    const steps = () => [{ argv: ['dnf', 'makecache', '--refresh', '-y'], result: { stdout: output } }];
    const pm = inImageRpmManager('dnf');
    await expect(pm.refresh(replayContext(replaySession({ steps: steps() })))).rejects.toThrow(
      "dnf makecache could not fetch the repository metadata: Error: Failed to download metadata for repo 'copa-broken'",
    );
    const logger = recordingLogger();
    await pm.refresh(replayContext(replaySession({ steps: steps() }), { ignoreErrors: true, logger }));
    expect(logger.warnings[0]).toMatch(/--ignore-errors/);
  });

  it('an install failure is an error, or a warning with --ignore-errors', async () => {
    const fail = {
      code: 1,
      stdout: 'No match for argument: nope\n',
      stderr: 'Error: No packages marked for upgrade.\n',
    };
    const steps = () => [{ argv: ['dnf', 'upgrade', '--refresh', 'nope', '-y'], result: fail }];
    const pm = inImageRpmManager('dnf');
    await expect(pm.apply(replayContext(replaySession({ steps: steps() })), ['nope'])).rejects.toThrow(
      'dnf upgrade failed (exit 1): No match for argument: nope Error: No packages marked for upgrade.',
    );
    const logger = recordingLogger();
    await pm.apply(replayContext(replaySession({ steps: steps() }), { ignoreErrors: true, logger }), [
      'nope',
    ]);
    expect(logger.warnings).toHaveLength(1);
  });
});

describe('tooling-image managers', () => {
  it('dnf chroot: --installroot with the image repos, run in the tooling root, cache bound there', async () => {
    const pm = dnfChrootManager({ type: 'almalinux', version: '9.4' });
    const opts = [
      `--installroot=${TARGET}`,
      `--setopt=reposdir=${TARGET}/etc/yum.repos.d`,
      '--releasever=9.4',
      '--nogpgcheck',
    ];
    const session = replaySession({
      steps: [
        { argv: ['dnf', ...opts, 'makecache', '--refresh'], in: 'tooling' },
        { argv: QA_ROOT, in: 'tooling', result: { stdout: data('rpm-qa.recorded.txt') } },
        {
          argv: ['dnf', ...opts, '-q', 'check-update'],
          in: 'tooling',
          result: { code: 100, stdout: data('dnf-check-update.recorded.txt') },
        },
        { argv: ['dnf', ...opts, 'upgrade', '-y'], in: 'tooling' },
      ],
    });
    const ctx = replayContext(session);
    await pm.refresh(ctx);
    expect((await pm.simulate(ctx, null)).map((u) => `${u.name} ${u.from} -> ${u.to}`)).toEqual([
      'copa-a-package-with-a-really-long-name-for-column-wrapping 1.0-1 -> 2.0-1',
      'copa-epoch 2:1.0-3.el9 -> 2:1.1~rc1-3.el9',
      'copa-hello 1.0-1 -> 2.0-1',
    ]);
    await pm.apply(ctx, null);
    expect(session.pending).toEqual([]);
    expect(pm.tooling?.targetPath).toBe(TARGET);
    expect(pm.tooling?.images({ type: 'almalinux', version: '9.4' })).toEqual([
      'docker.io/library/almalinux:9',
    ]);
    expect([pm.cacheRoot, pm.cachePaths]).toEqual(['tooling', [`${TARGET}/var/cache/dnf`]]);
    expect(pm.excludePaths).toContain('/var/cache/dnf');
    expect(pm.excludePaths).toContain('/var/log/dnf.log');
  });

  it('[constructed] zypper chroot: refresh, list-updates (xml), up --no-recommends <names>', async () => {
    const session = replaySession({
      steps: [
        { argv: ['zypper', '--non-interactive', 'refresh'], in: 'tooling' },
        { argv: QA_ROOT, in: 'tooling', result: { stdout: 'libopenssl3\t3.1.4-150600.5.10.1\tx86_64\n' } },
        {
          argv: ['zypper', '--non-interactive', '--xmlout', '--installroot', TARGET, 'list-updates'],
          in: 'tooling',
          result: { stdout: data('zypper-list-updates.constructed.xml') },
        },
        {
          argv: [
            'zypper',
            '--non-interactive',
            '--installroot',
            TARGET,
            'up',
            '--no-recommends',
            'libopenssl3',
          ],
          in: 'tooling',
        },
      ],
    });
    const ctx = replayContext(session);
    const pm = zypperChrootManager;
    await pm.refresh(ctx);
    expect(await pm.simulate(ctx, ['libopenssl3'])).toEqual([
      { name: 'libopenssl3', from: '3.1.4-150600.5.10.1', to: '3.1.4-150600.5.15.1' },
    ]);
    await pm.apply(ctx, ['libopenssl3']);
    expect(session.pending).toEqual([]);
  });
});
