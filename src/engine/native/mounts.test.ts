import { describe, expect, it } from 'vitest';
import { fstabField, fstabText } from './mounts.js';

describe('fstab lines of the sandbox mounts', () => {
  it('escapes whitespace and backslashes as getmntent(3) reads them back', () => {
    expect(fstabField('/tmp/a b\tc\nd\\e')).toBe('/tmp/a\\040b\\011c\\012d\\134e');
    expect(fstabField('nosuid,mode=755')).toBe('nosuid,mode=755');
    expect(() => fstabField('')).toThrow(/empty/);
  });

  it('one line per mount, in order, fields escaped', () => {
    const text = fstabText([
      { source: 'proc', target: '/w/my root/proc', type: 'proc', options: 'nosuid,nodev,noexec' },
      { source: '/etc/resolv.conf', target: '/w/my root/etc/resolv.conf', type: 'none', options: 'bind,ro' },
    ]);
    expect(text).toBe(
      'proc /w/my\\040root/proc proc nosuid,nodev,noexec 0 0\n' +
        '/etc/resolv.conf /w/my\\040root/etc/resolv.conf none bind,ro 0 0\n',
    );
  });
});
