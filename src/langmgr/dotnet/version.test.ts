import { describe, expect, it } from 'vitest';
import { compareVersions, majorMinor, validName, validVersion } from './version.js';

describe('NuGet ids and versions', () => {
  it('accepts NuGet ids and versions, rejects the rest', () => {
    for (const n of [
      'Newtonsoft.Json',
      'System.Text.Json',
      'runtime.native.System.Data.SqlClient.sni',
      'A_b-1',
    ]) {
      expect(validName(n)).toBe(true);
    }
    for (const n of ['', '-x', 'a b', 'a;rm', '../x', 'a/b', 'x..y', '$(x)'])
      expect(validName(n)).toBe(false);
    for (const v of ['13.0.1', '8.0.5', '4.8.6', '1.0.0.1', '6.0.0-preview.1', '2.0.0+build.7', '1']) {
      expect(validVersion(v)).toBe(true);
    }
    for (const v of ['', 'v1.0', '1.0.0.0.0', '1.0 ', '[1.0,2.0)', '1.0;x', '$(V)'])
      expect(validVersion(v)).toBe(false);
  });

  it('orders like NuGet', () => {
    const sorted = [
      '13.0.1',
      '8.0.0',
      '8.0.5',
      '8.0.5-rc.1',
      '8.0.5-preview.2',
      '12.0.1',
      '8.0.5.1',
      '8.0.10',
    ].sort(compareVersions);
    expect(sorted).toEqual([
      '8.0.0',
      '8.0.5-preview.2',
      '8.0.5-rc.1',
      '8.0.5',
      '8.0.5.1',
      '8.0.10',
      '12.0.1',
      '13.0.1',
    ]);
    expect(compareVersions('8.0', '8.0.0.0')).toBe(0);
    expect(compareVersions('1.0.0+a', '1.0.0+b')).toBe(0);
    expect(majorMinor('8.0.11')).toBe('8.0');
    expect(majorMinor('10.0.0-rc.1')).toBe('10.0');
    expect(majorMinor('x')).toBeUndefined();
  });
});
