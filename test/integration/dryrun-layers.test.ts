/** A rootless --dry-run reads the dpkg database from layer tars as the stacked layers show it. */
import { describe, expect, it } from 'vitest';
import { readFilesFromLayers } from '../../src/patch/dryrun.js';
import { makeTar, memoryLayer } from '../helpers/tar.js';

const status = (pkgs: Record<string, string>): string =>
  Object.entries(pkgs)
    .map(([p, v]) => `Package: ${p}\nStatus: install ok installed\nVersion: ${v}\n`)
    .join('\n');

describe('readFilesFromLayers', () => {
  it('later layers win, whiteouts and opaque directories remove, other files are not read', async () => {
    const l1 = memoryLayer(
      makeTar([
        { name: 'etc/', type: 'dir' },
        { name: 'etc/os-release', body: 'ID=debian\nVERSION_ID="12"\n' },
        { name: 'var/lib/dpkg/status', body: status({ openssl: '3.0.1' }) },
        { name: 'var/lib/dpkg/status.d/old', body: status({ old: '1' }) },
        { name: 'usr/bin/big', body: 'x'.repeat(10_000) },
      ]),
    );
    const l2 = memoryLayer(
      makeTar([
        { name: './var/lib/dpkg/status', body: status({ openssl: '3.0.2' }) },
        { name: 'var/lib/dpkg/status.d/.wh..wh..opq' },
        { name: 'var/lib/dpkg/status.d/new', body: status({ new: '2' }) },
        { name: 'etc/.wh.os-release' },
      ]),
    );
    const files = await readFilesFromLayers([l1, l2]);
    expect([...files.keys()].sort()).toEqual(['var/lib/dpkg/status', 'var/lib/dpkg/status.d/new']);
    expect(files.get('var/lib/dpkg/status')?.toString()).toContain('Version: 3.0.2');
  });
});
