import { describe, expect, it } from 'vitest';
import { installHint, missingTools, onPath, TOOLS } from './tools.js';

describe('host tools', () => {
  it('finds commands on PATH and by absolute path', () => {
    expect(onPath('sh')).toBe(true);
    expect(onPath('/bin/sh')).toBe(true);
    expect(onPath('sh', '/nonexistent-dir')).toBe(false);
    expect(onPath('copa-bench-no-such-command')).toBe(false);
  });
  it('lists what is missing and says how to install it, one package per tool', () => {
    const fake = [
      { command: 'copa-bench-no-such-command', debPackage: 'pkg-a' },
      { command: 'sh', debPackage: 'dash' },
      { command: 'copa-bench-no-such-2', debPackage: 'pkg-a', optionalFor: 'x' },
    ];
    expect(missingTools(fake).map((t) => t.command)).toEqual([
      'copa-bench-no-such-command',
      'copa-bench-no-such-2',
    ]);
    expect(installHint(missingTools(fake))).toBe(
      'apt-get install -y pkg-a (or npm run bench -- --install-tools)',
    );
  });
  it('knows buildah as optional and GNU time as required', () => {
    expect(TOOLS.find((t) => t.command === 'buildah')?.optionalFor).toBeDefined();
    expect(TOOLS.find((t) => t.command === '/usr/bin/time')).toMatchObject({ debPackage: 'time' });
  });
});
