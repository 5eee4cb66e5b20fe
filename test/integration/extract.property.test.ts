import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopaError } from '../../src/errors.js';
import { extractLayer, type ExtractMode } from '../../src/layers/extract.js';
import { checkAsync } from '../helpers/fc.js';
import { outsideState } from '../helpers/outside-state.js';
import { makeTar, type TarSpec } from '../helpers/tar.js';

/**
 * Property test of safe extraction (fast-check; seed and size from test/helpers/fc.ts), as root (chown,
 * mknod for whiteouts): generated layers mixing `..`, absolute names, symlinks and hard links to the host,
 * whiteouts and ordinary entries, extracted in both modes beside a sentinel directory. Whatever the layer,
 * nothing outside the root changes, and the outcome is the extraction or one CopaError UNSAFE_LAYER.
 */

let base: string;
let sentinel: string;
let seq = 0;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'copa-extract-prop-'));
  sentinel = join(base, 'sentinel');
  await mkdir(join(sentinel, 'dir'), { recursive: true });
  await writeFile(join(sentinel, 'file'), 'keep me');
  await symlink(join(sentinel, 'file'), join(sentinel, 'link'));
});

afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

function layer(): fc.Arbitrary<TarSpec[]> {
  const seg = fc.constantFrom('a', 'b', 'ln', 'up', '..', '.', '', '.wh.a', '.wh..wh..opq', 'sentinel');
  const name = fc.oneof(
    fc.array(seg, { minLength: 1, maxLength: 4 }).map((s) => s.join('/')),
    fc.array(seg, { minLength: 1, maxLength: 3 }).map((s) => `${sentinel}/${s.join('/')}`),
    fc.constantFrom('/', '..', '../sentinel/file', '/../../x', 'a/../../x'),
  );
  const target = fc.constantFrom(
    '..',
    '../..',
    '../../../../..',
    '/',
    sentinel,
    `${sentinel}/file`,
    'a',
    '/a/../..',
    'ln',
    '../sentinel/file',
  );
  const entry = fc.oneof(
    fc.record({ name, type: fc.constant('file' as const), body: fc.constantFrom('x', 'pwned', '') }),
    fc.record({ name, type: fc.constant('dir' as const) }),
    fc.record({ name, type: fc.constantFrom('symlink' as const, 'link' as const), linkname: target }),
  );
  return fc.array(entry, { minLength: 1, maxLength: 8 });
}

async function extractOnce(entries: TarSpec[], mode: ExtractMode): Promise<'ok' | 'refused'> {
  const root = join(base, `root-${++seq}`);
  await mkdir(root);
  try {
    await extractLayer(Readable.from([makeTar(entries)]), root, {
      mode,
      logger: { debug() {}, info() {}, warn() {} },
    });
    return 'ok';
  } catch (e) {
    if (!(e instanceof CopaError)) throw e;
    expect(e.code).toBe('UNSAFE_LAYER');
    return 'refused';
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe.each<ExtractMode>(['overlay', 'apply'])(
  'extractLayer on generated hostile layers, %s (property)',
  (mode) => {
    it('changes nothing outside the root; succeeds or fails with UNSAFE_LAYER', async () => {
      const before = await outsideState(base);
      expect(before.length).toBe(4);
      await checkAsync(
        fc.asyncProperty(layer(), async (entries) => {
          await extractOnce(entries, mode);
          expect(await outsideState(base)).toEqual(before);
        }),
      );
    });
  },
);
