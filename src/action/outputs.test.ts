import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatOutputs, patchedImageOf, writeOutputs } from './outputs.js';

describe('action outputs', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'copa-action-out-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads patchedImage from the --json result; nothing from an error object or no JSON', () => {
    expect(patchedImageOf(JSON.stringify({ status: 'Patched', patchedImage: 'r/app:1-patched' }))).toBe(
      'r/app:1-patched',
    );
    expect(patchedImageOf(JSON.stringify({ status: 'Error', code: 'AUTH', exitCode: 1 }))).toBe('');
    expect(patchedImageOf('')).toBe('');
  });

  it('formats name=value lines, and the heredoc form for a value with a line break', () => {
    expect(formatOutputs({ 'patched-image': 'r/app:1-patched', 'exit-code': '0' })).toBe(
      'patched-image=r/app:1-patched\nexit-code=0\n',
    );
    expect(formatOutputs({ note: 'a\nb' }, 'EOF_1')).toBe('note<<EOF_1\na\nb\nEOF_1\n');
    expect(() => formatOutputs({ note: 'a\nEOF_1' }, 'EOF_1')).toThrow(/delimiter/);
  });

  it('appends to the GITHUB_OUTPUT file, keeping what other steps wrote', async () => {
    const file = join(dir, 'github_output');
    await writeFile(file, 'earlier=1\n');
    await writeOutputs({ 'patched-image': 'r/app:1-patched', 'exit-code': '0' }, { GITHUB_OUTPUT: file });
    expect(await readFile(file, 'utf8')).toBe('earlier=1\npatched-image=r/app:1-patched\nexit-code=0\n');
  });
});
