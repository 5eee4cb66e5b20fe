import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { replayContext, replaySession } from '../../../test/helpers/rpm-replay.js';
import { TARGET } from './chroot.js';
import {
  MANIFEST_1,
  MANIFEST_2,
  MANIFEST_2_FORMAT,
  manifestVersions,
  marinerDistrolessManager,
  parseManifest2,
} from './manifest.js';

const data = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');

// No tdnf and no Mariner image can run here: container-manifest-2.constructed.txt follows Copa's
// container-manifest-2 fields; the tdnf outputs follow tdnf's format. Not produced by the real tools.

describe('Mariner / Azure Linux distroless (rpmmanifest)', () => {
  it('[constructed] container-manifest-2: name -> [epoch:]version-release', () => {
    const entries = parseManifest2(data('container-manifest-2.constructed.txt'));
    expect(entries[0]).toEqual({ name: 'filesystem', vr: '1.1-12.cm2', epoch: undefined });
    expect(manifestVersions(entries)).toEqual(
      new Map([
        ['filesystem', '1.1-12.cm2'],
        ['openssl', '1.1.1k-21.cm2'],
        ['openssl-libs', '1.1.1k-21.cm2'],
        ['tzdata', '1:2022f-1.cm2'],
      ]),
    );
  });

  it('[constructed] rebuilds a database with tdnf, installs into the image, rewrites both manifests, leaves no database', async () => {
    const pm = marinerDistrolessManager({ type: 'cbl-mariner', version: '2.0.20240123' });
    const manifest2 = data('container-manifest-2.constructed.txt');
    const dbpath = `--dbpath=${TARGET}/var/lib/rpm`;
    const session = replaySession({
      files: { [MANIFEST_2]: manifest2 },
      steps: [
        { argv: ['tdnf', 'makecache'], in: 'tooling' },
        {
          argv: [
            'tdnf',
            'install',
            '-y',
            '--releasever=2.0',
            '--installroot=/tmp/copa-rpmdb',
            'filesystem-1.1-12.cm2',
            'openssl-1.1.1k-21.cm2',
            'openssl-libs-1.1.1k-21.cm2',
            'tzdata-2022f-1.cm2',
          ],
          in: 'tooling',
        },
        {
          argv: [
            'tdnf',
            '-q',
            '--releasever=2.0',
            '--installroot=/tmp/copa-rpmdb',
            'check-update',
            'openssl',
          ],
          in: 'tooling',
          result: { stdout: data('tdnf-check-update.constructed.txt') },
        },
        { argv: ['mkdir', '-p', `${TARGET}/var/lib`], in: 'tooling' },
        { argv: ['ln', '-s', '/tmp/copa-rpmdb/var/lib/rpm', `${TARGET}/var/lib/rpm`], in: 'tooling' },
        {
          argv: ['tdnf', 'install', '-y', '--releasever=2.0', `--installroot=${TARGET}`, 'openssl'],
          in: 'tooling',
        },
        {
          argv: ['rpm', dbpath, '--erase', '--allmatches', 'gpg-pubkey'],
          in: 'tooling',
          result: { code: 1 },
        },
        { argv: ['rpm', dbpath, '-qa'], in: 'tooling', result: { stdout: 'openssl-3.0.13-6.cm2.x86_64\n' } },
        {
          argv: ['rpm', dbpath, '-qa', '--queryformat', MANIFEST_2_FORMAT],
          in: 'tooling',
          result: { stdout: 'openssl\t3.0.13-6.cm2\t...\n' },
        },
        { argv: ['sh', '-c', 'cat > "$1"', 'sh', `${TARGET}${MANIFEST_1}`], in: 'tooling' },
        { argv: ['sh', '-c', 'cat > "$1"', 'sh', `${TARGET}${MANIFEST_2}`], in: 'tooling' },
        { argv: ['rm', '-rf', `${TARGET}/var/lib/rpm`, `${TARGET}/var/cache/tdnf`], in: 'tooling' },
      ],
    });
    const ctx = replayContext(session);
    await pm.refresh(ctx);
    expect((await pm.simulate(ctx, ['openssl'])).find((u) => u.name === 'openssl')).toEqual({
      name: 'openssl',
      from: '1.1.1k-21.cm2',
      to: '3.0.13-6.cm2',
    });
    await pm.apply(ctx, ['openssl']);
    expect(session.pending).toEqual([]);
    expect(pm.tooling?.images({ type: 'azurelinux', version: '3.0' })[1]).toBe(
      'mcr.microsoft.com/azurelinux/base/core:3.0',
    );
  });
});
