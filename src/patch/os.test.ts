import { describe, expect, it } from 'vitest';
import { canonicalOsType, osFromRelease, parseOsRelease } from './os.js';

describe('OS identification', () => {
  it.each([
    ['Debian GNU/Linux', 'debian'],
    ['Ubuntu', 'ubuntu'],
    ['openSUSE Leap', 'opensuse-leap'],
    ['SLES', 'sles'],
    ['AlmaLinux', 'almalinux'],
    ['Microsoft Azure Linux', 'azurelinux'],
    ['CBL-Mariner/Linux', 'cbl-mariner'],
    ['Red Hat Enterprise Linux', 'redhat'],
    ['Alpine Linux', 'alpine'],
    ['Amazon Linux', 'amazon'],
    ['CentOS Stream', 'centos'],
    ['Rocky Linux', 'rocky'],
    ['Oracle Linux Server', 'oracle'],
    ['Arch Linux', 'archlinux'],
    ['Wolfi', undefined],
  ])('%s -> %s', (name, want) => {
    expect(canonicalOsType(name)).toBe(want);
  });

  it('parses os-release quoting and maps to type/version', () => {
    const text =
      'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';
    expect(parseOsRelease(text).PRETTY_NAME).toBe('Debian GNU/Linux 12 (bookworm)');
    expect(osFromRelease(text)).toEqual({ type: 'debian', version: '12' });
    expect(() => osFromRelease('NAME="Wolfi"\n')).toThrow(/unsupported osType "wolfi"/);
  });
});
