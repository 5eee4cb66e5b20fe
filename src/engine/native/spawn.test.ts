import { describe, expect, it } from 'vitest';
import { childEnv, wantsPreboot } from './spawn.js';

const asRoot = process.getuid?.() === 0;

describe('which command lines start the sandbox child early', () => {
  it.runIf(asRoot)('a single-image patch on the native engine', () => {
    expect(wantsPreboot(['patch', '-i', 'img:1', '-r', 'r.json'])).toBe(true);
    expect(wantsPreboot(['--debug', 'patch', '-i', 'img:1'])).toBe(true);
    expect(wantsPreboot(['patch', '-i', 'img:1', '--engine=native', '-t', 'x'])).toBe(false);
  });

  it('never the BuildKit engine, bulk, a dry run, help, or another command', () => {
    for (const args of [
      ['patch', '-i', 'img:1', '--addr', 'unix:///run/buildkit.sock'],
      ['patch', '-i', 'img:1', '-a', 'tcp://h:1234'],
      ['patch', '-i', 'img:1', '--addr=unix:///x'],
      ['patch', '-i', 'img:1', '--engine', 'buildkit'],
      ['patch', '--config', 'bulk.yaml', '--push'],
      ['patch', '--plan', 'plan.json', '--shard', '1/3'],
      ['patch', '-i', 'img:1', '--dry-run'],
      ['patch', '--help'],
      ['generate', '-i', 'img:1'],
      ['--debug', 'generate', '-i', 'img:1'],
      [],
    ])
      expect(wantsPreboot(args), args.join(' ')).toBe(false);
  });

  it('the child gets the environment without NODE_EXTRA_CA_CERTS', () => {
    expect(childEnv({ PATH: '/bin', NODE_EXTRA_CA_CERTS: '/ca.pem', HOME: '/root' })).toEqual({
      PATH: '/bin',
      HOME: '/root',
    });
  });
});
