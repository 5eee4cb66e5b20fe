import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordingLogger, replayContext, replaySession } from '../../../test/helpers/rpm-replay.js';
import { APK_DB, apkManager } from './apk.js';
import { apkErrorLine, apkFetchFailure, parseApkActions, parseApkInstalled } from './parse.js';

const data = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');

// No apk binary is reachable here. testdata: installed.handmade.txt is a hand-made database in apk's format;
// upgrade-simulate.apk-tools-tests.txt is the output apk-tools' own test suite expects from `apk upgrade`
// (test/solver/upgrade1.test); *.constructed.txt follow the same format with realistic Alpine packages.

describe('apk parsers', () => {
  it('[recorded] the installed database (hand-made, apk format): P: and V: per record', () => {
    expect(parseApkInstalled(data('installed.handmade.txt'))).toEqual(
      new Map([
        ['musl', '1.2.4_git20230717-r4'],
        ['busybox', '1.36.1-r15'],
        ['libcrypto3', '3.1.4-r5'],
        ['libssl3', '3.1.4-r5'],
        ['apk-tools', '2.14.4-r0'],
      ]),
    );
  });

  it("[recorded] apk's plan output from apk-tools' test suite: purges and reinstalls are not updates", () => {
    expect(parseApkActions(data('upgrade-simulate.apk-tools-tests.txt'))).toEqual([
      { name: 'libnew', to: '1' },
      { name: 'app', from: '1', to: '2' },
    ]);
  });

  it('[constructed] apk upgrade --simulate of an Alpine image', () => {
    expect(parseApkActions(data('upgrade-simulate.constructed.txt'))).toEqual([
      { name: 'busybox', from: '1.36.1-r15', to: '1.36.1-r19' },
      { name: 'libcrypto3', from: '3.1.4-r5', to: '3.1.7-r1' },
      { name: 'libssl3', from: '3.1.4-r5', to: '3.1.7-r1' },
      { name: 'musl', from: '1.2.4_git20230717-r4', to: '1.2.4_git20230717-r3' },
    ]);
  });

  it('[constructed] errors: the ERROR block; fetch failures of apk update', () => {
    expect(apkErrorLine(data('add-unsatisfiable.constructed.txt'))).toBe(
      'ERROR: unable to select packages: libcrypto3-3.9.9-r0: breaks: world[libcrypto3=3.9.9-r0]',
    );
    expect(
      apkFetchFailure(
        'WARNING: fetching https://mirror.example/alpine/v3.19/main: temporary error (try again later)\n',
      ),
    ).toMatch(/temporary error/);
    expect(
      apkFetchFailure(
        'v3.19.1-1-g2f6b1a4a0 [https://mirror.example/alpine/v3.19/main]\nOK: 23412 distinct packages available\n',
      ),
    ).toBeUndefined();
  });
});

describe('apk manager runs Copa commands', () => {
  it('[constructed] report mode: apk update, upgrade --simulate, add --no-cache then upgrade --no-cache', async () => {
    const session = replaySession({
      files: { [APK_DB]: data('installed.handmade.txt') },
      steps: [
        { argv: ['apk', 'update'], result: { stdout: 'OK: 23412 distinct packages available\n' } },
        {
          argv: ['apk', 'upgrade', '--simulate', '--no-cache', 'libssl3', 'libcrypto3'],
          result: { stdout: data('upgrade-simulate.constructed.txt') },
        },
        { argv: ['apk', 'add', '--no-cache', 'libssl3', 'libcrypto3'] },
        { argv: ['apk', 'upgrade', '--no-cache', 'libssl3', 'libcrypto3'] },
      ],
    });
    const ctx = replayContext(session);
    expect((await apkManager.installed(ctx)).get('libssl3')).toBe('3.1.4-r5');
    await apkManager.refresh(ctx);
    expect(await apkManager.simulate(ctx, ['libssl3', 'libcrypto3'])).toHaveLength(4);
    await apkManager.apply(ctx, ['libssl3', 'libcrypto3']);
    expect(session.pending).toEqual([]);
    expect(apkManager.cachePaths).toEqual(['/var/cache/apk']);
  });

  it('[constructed] update-all: apk upgrade --no-cache; a failure warns with --ignore-errors', async () => {
    const fail = { code: 1, stderr: data('add-unsatisfiable.constructed.txt') };
    const logger = recordingLogger();
    const session = replaySession({ steps: [{ argv: ['apk', 'upgrade', '--no-cache'], result: fail }] });
    await apkManager.apply(replayContext(session, { ignoreErrors: true, logger }), null);
    expect(logger.warnings[0]).toMatch(/^apk upgrade failed \(exit 1\): ERROR: unable to select packages/);
    const strict = replaySession({ steps: [{ argv: ['apk', 'upgrade', '--no-cache'], result: fail }] });
    await expect(apkManager.apply(replayContext(strict), null)).rejects.toThrow('apk upgrade failed');
  });

  it('an image without the apk database is not supported (distroless Alpine, Wolfi)', async () => {
    await expect(apkManager.installed(replayContext(replaySession({ steps: [] })))).rejects.toThrow(
      'the image has no apk database',
    );
  });
});
