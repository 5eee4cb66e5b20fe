import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addSbomOptions, noSbomInBulk, sbomOptions } from './sbom-flags.js';

describe('--sbom / --sbom-format', () => {
  it('flags become patch options; the format defaults to the schema default (cyclonedx)', () => {
    expect(sbomOptions({ sbom: 'out.json' })).toEqual({ sbomOutput: 'out.json' });
    expect(sbomOptions({ sbom: 'out.json', sbomFormat: 'spdx' })).toEqual({
      sbomOutput: 'out.json',
      sbomFormat: 'spdx',
    });
    expect(sbomOptions({})).toEqual({});
    expect(sbomOptions({ attach: true, sbomFormat: 'spdx' })).toEqual({ attach: true, sbomFormat: 'spdx' });
    expect(() => noSbomInBulk({ attach: true }, '--plan')).toThrow(
      /--plan cannot be combined with --sbom or --attach/,
    );
  });

  it('--sbom-format without --sbom, or --sbom in bulk mode, is a usage error', () => {
    let err: unknown;
    try {
      sbomOptions({ sbomFormat: 'spdx' });
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string } | undefined)?.code).toBe('USAGE');
    expect(() => noSbomInBulk({ sbom: 'x.json' }, '--config')).toThrow(
      /--config cannot be combined with --sbom/,
    );
    expect(() => noSbomInBulk({}, '--plan')).not.toThrow();
  });

  it('commander accepts only cyclonedx or spdx', () => {
    const cmd = addSbomOptions(
      new Command('t').exitOverride().configureOutput({ writeErr: () => undefined }),
    );
    expect(() => cmd.parse(['--sbom', 'a.json', '--sbom-format', 'xml'], { from: 'user' })).toThrow(
      /argument 'xml' is invalid/,
    );
    cmd.parse(['--sbom', 'a.json', '--sbom-format', 'spdx'], { from: 'user' });
    expect(cmd.opts()).toEqual({ sbom: 'a.json', sbomFormat: 'spdx' });
  });
});
