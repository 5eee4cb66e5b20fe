import { describe, expect, it } from 'vitest';
import { contextOutput } from './generate.js';

describe('copa generate output', () => {
  it('writes to --output-context, else to stdout unless it is a terminal', () => {
    expect(contextOutput('ctx.tar', true)).toEqual({ path: 'ctx.tar' });
    expect(contextOutput(undefined, false)).toEqual({ stdout: true });
    expect(() => contextOutput(undefined, true)).toThrow(
      /refusing to write the build context \(a tar archive\) to a terminal/,
    );
  });
});
