import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { replayContext, replaySession } from '../../../test/helpers/rpm-replay.js';
import { pacmanManager } from './pacman.js';
import { pacmanErrorLine, parsePacmanQ, parsePacmanQu, plannedFromPrint } from './parse.js';

const data = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');

// Parser cases, including error paths, from constructed outputs (testdata/*.constructed.txt, in pacman's
// formats: `-Q`: "name version"; `-Qu`: "name old -> new [ignored]"; `--print-format '%n %v'`). The real
// pacman runs in test/integration/pacman-real.test.ts.

describe('pacman parsers', () => {
  it('[constructed] pacman -Q (with an epoch)', () => {
    const q = parsePacmanQ(data('Q.constructed.txt'));
    expect(q.get('go')).toBe('2:1.21.6-1');
    expect(q.size).toBe(5);
  });

  it('[constructed] pacman -Qu: updates and IgnorePkg entries', () => {
    expect(parsePacmanQu(data('Qu.constructed.txt'))).toEqual({
      updates: [
        { name: 'glibc', from: '2.39-1', to: '2.39-4' },
        { name: 'openssl', from: '3.2.1-1', to: '3.3.0-1' },
      ],
      ignored: ['linux'],
    });
  });

  it('[constructed] pacman -S --print: targets with the installed version as from', () => {
    const installed = parsePacmanQ(data('Q.constructed.txt'));
    expect(plannedFromPrint(data('Sp.constructed.txt'), installed)).toEqual([
      { name: 'glibc', from: '2.39-1', to: '2.39-4' },
      { name: 'openssl', from: '3.2.1-1', to: '3.3.0-1' },
    ]);
    expect(pacmanErrorLine('error: target not found: nope\n')).toBe('error: target not found: nope');
  });
});

describe('pacman manager runs Copa commands', () => {
  it('[constructed] report mode: -Sy, -S --print --needed, -S --noconfirm <names>', async () => {
    const session = replaySession({
      steps: [
        { argv: ['pacman', '-Sy'] },
        { argv: ['pacman', '-Qu'], result: { stdout: data('Qu.constructed.txt') } },
        { argv: ['pacman', '-Q'], result: { stdout: data('Q.constructed.txt') } },
        {
          argv: ['pacman', '-S', '--print', '--print-format', '%n %v', '--needed', 'glibc', 'openssl'],
          result: { stdout: data('Sp.constructed.txt') },
        },
        { argv: ['pacman', '-S', '--noconfirm', 'glibc', 'openssl'] },
      ],
    });
    const ctx = replayContext(session);
    await pacmanManager.refresh(ctx);
    expect(await pacmanManager.held(ctx)).toEqual(['linux']);
    expect(await pacmanManager.simulate(ctx, ['glibc', 'openssl'])).toHaveLength(2);
    await pacmanManager.apply(ctx, ['glibc', 'openssl']);
    expect(session.pending).toEqual([]);
  });

  it('[constructed] update-all: -Qu (exit 1 = nothing to do), -Su --noconfirm', async () => {
    const none = replaySession({ steps: [{ argv: ['pacman', '-Qu'], result: { code: 1 } }] });
    expect(await pacmanManager.simulate(replayContext(none), null)).toEqual([]);
    const session = replaySession({
      steps: [
        { argv: ['pacman', '-Qu'], result: { stdout: data('Qu.constructed.txt') } },
        { argv: ['pacman', '-Su', '--noconfirm'] },
      ],
    });
    const ctx = replayContext(session);
    expect((await pacmanManager.simulate(ctx, null)).map((u) => u.name)).toEqual(['glibc', 'openssl']);
    await pacmanManager.apply(ctx, null);
    expect(session.pending).toEqual([]);
    expect(pacmanManager.cachePaths).toEqual(['/var/cache/pacman/pkg', '/var/lib/pacman/sync']);
  });
});
