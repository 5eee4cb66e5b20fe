import { describe, expect, it } from 'vitest';
import { needsPrivileges } from '../../cli/rootless.js';
import { subordinateRange } from './userns.js';

describe('rootless runs', () => {
  it('take the first range of at least 65536 ids, by user name or uid', () => {
    const text = 'alice:100000:65536\nbob:165536:1000\n1002:300000:65536\nbob:400000:70000\n';
    expect(subordinateRange(text, 'alice', 1000)).toEqual({ start: 100000, count: 65536 });
    expect(subordinateRange(text, 'bob', 1001)).toEqual({ start: 400000, count: 70000 });
    expect(subordinateRange(text, 'carol', 1002)).toEqual({ start: 300000, count: 65536 });
    expect(subordinateRange(text, 'dave', 1003)).toBeUndefined();
    expect(subordinateRange('dave:x:y\n', 'dave', 1003)).toBeUndefined();
  });

  it('enter a user namespace for native-engine runs only', () => {
    expect(needsPrivileges(['patch', '-i', 'x'])).toBe(true);
    expect(needsPrivileges(['--debug', 'generate', '-i', 'x'])).toBe(true);
    expect(needsPrivileges(['patch', '-i', 'x', '--addr', 'unix:///run/buildkit.sock'])).toBe(false);
    expect(needsPrivileges(['patch', '-i', 'x', '-r', 'r.json', '--dry-run'])).toBe(false);
    expect(needsPrivileges(['patch', '-i', 'x', '--dry-run'])).toBe(true);
    expect(needsPrivileges(['patch', '--help'])).toBe(false);
    expect(needsPrivileges(['cache', 'prune'])).toBe(true);
    expect(needsPrivileges(['referrers', 'x'])).toBe(false);
    expect(needsPrivileges([])).toBe(false);
  });
});
