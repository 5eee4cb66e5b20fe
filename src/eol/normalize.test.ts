import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { backoffDelay, eolError, eolUrl, eolWarning } from './check.js';
import { eolTarget } from './normalize.js';

describe('eolTarget: OS type/version -> API product/release', () => {
  it.each([
    ['debian', '12', 'debian', '12'],
    ['debian', '12.5', 'debian', '12'],
    ['debian', '9.13', 'debian', '9'],
    ['Debian', 'Bookworm', 'debian', '12'],
    ['debian', 'buzz', 'debian', '1'],
    ['debian', 'rex', 'debian', '1'],
    ['debian', 'bo', 'debian', '1'],
    ['debian', 'potato', 'debian', '2'],
    ['debian', 'sarge', 'debian', '3'],
    ['debian', 'etch', 'debian', '4'],
    ['debian', 'lenny', 'debian', '5'],
    ['debian', 'squeeze', 'debian', '6'],
    ['debian', 'wheezy', 'debian', '7'],
    ['debian', 'jessie', 'debian', '8'],
    ['debian', 'stretch', 'debian', '9'],
    ['debian', 'buster', 'debian', '10'],
    ['debian', 'bullseye', 'debian', '11'],
    ['debian', 'trixie', 'debian', '13'],
    ['debian', 'forky', 'debian', '14'],
    ['debian', 'sid', 'debian', 'sid'],
    ['ubuntu', '22.04', 'ubuntu', '22.04'],
    ['ubuntu', '22.04.3 LTS', 'ubuntu', '22.04'],
    ['ubuntu', '20.04 lts', 'ubuntu', '20.04'],
    ['ubuntu', '24.10', 'ubuntu', '24.10'],
    ['alpine', '3.18.4', 'alpine', '3.18'],
    ['alpine', '3.19', 'alpine', '3.19'],
    ['centos', '7.9.2009', 'centos', '7'],
    ['rhel', '8.6', 'rhel', '8'],
    ['redhat', '9.3', 'rhel', '9'],
    ['rocky', '9.2', 'rocky-linux', '9'],
    ['alma', '8.9', 'almalinux', '8'],
    ['almalinux', '9.3', 'almalinux', '9'],
    ['amazon', '2', 'amazon-linux', '2'],
    ['amazon', '2 (Karoo)', 'amazon-linux', '2'],
    ['amazon', '2023', 'amazon-linux', '2023'],
    ['amazon', '2023.3.20240219', 'amazon-linux', '2023'],
    ['cbl-mariner', '2.0', 'cbl-mariner', '2'],
    ['mariner', '1.0.20220122', 'cbl-mariner', '1'],
    ['azurelinux', '3.0', 'azure-linux', '3'],
    ['Oracle', '8.9', 'oracle', '8.9'],
    ['', '', '', ''],
  ])('%s %s -> %s/%s', (type, version, product, release) => {
    expect(eolTarget({ type, version })).toEqual({ product, version: release });
  });
});

describe('eolUrl', () => {
  it('joins base, product and release, ignoring a trailing slash', () => {
    expect(eolUrl('http://127.0.0.1:8080/api/v1/products/', 'debian', '12')).toBe(
      'http://127.0.0.1:8080/api/v1/products/debian/releases/12',
    );
  });
  it('encodes path segments', () => {
    expect(eolUrl('http://h/p', 'a b', '1/2')).toBe('http://h/p/a%20b/releases/1%2F2');
  });
});

describe('backoffDelay', () => {
  it('doubles from 1 s and stops growing at 8 s', () => {
    expect([0, 1, 2, 3, 4, 5].map(backoffDelay)).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });
});

describe('messages', () => {
  it('eolError is the --exit-on-eol error with a next step', () => {
    const err = eolError({ type: 'debian', version: '9' });
    expect(err).toBeInstanceOf(CopaError);
    expect(err.message).toBe('exiting due to EOL operating system: debian 9');
    expect(err.hint).toContain('--exit-on-eol');
  });
  it('eolWarning names the release and the date when known', () => {
    const w = eolWarning(
      { type: 'debian', version: '9' },
      { product: 'debian', version: '9', isEol: true, eolFrom: '2022-06-30', checked: true },
    );
    expect(w).toContain('debian 9 is end-of-life since 2022-06-30');
  });
});
