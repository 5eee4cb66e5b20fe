/**
 * The tooling strategy, for site-packages dirs without a Python + pip of their own: python:X.Y-slim
 * installs each release into its own /tmp, the files are swapped into the image's exact dir (pip.ts REPLACE).
 */
import { CopaError } from '../../errors.js';
import type { Executor } from '../../engine/types.js';
import type { LanguageContext, LanguageResult } from '../types.js';
import { pipErrorLine } from './paths.js';
import { PIP_FLAGS, pipEnv, REPLACE, runPip } from './pip.js';
import type { Target } from './plan.js';
import { fail, spec, validate } from './result.js';

/** where a tooling root sees the image */
const MOUNT = '/tmp/rootfs';

/** No pip in the image: python:X.Y-slim installs each release into its own /tmp, the files are swapped in. */
export async function viaTooling(ctx: LanguageContext, ts: Target[], out: LanguageResult): Promise<void> {
  const byVersion = new Map<string, Target[]>();
  for (const t of ts)
    byVersion.set(t.loc.pyVersion ?? '3', [...(byVersion.get(t.loc.pyVersion ?? '3') ?? []), t]);
  for (const [ver, group] of byVersion) {
    let exec: Executor;
    try {
      exec = await ctx.withTooling([`docker.io/library/python:${ver}-slim`], MOUNT);
    } catch (e) {
      if (!ctx.ignoreErrors || !(e instanceof CopaError)) throw e;
      for (const t of group) fail(out, t, t.from, `no tooling image: ${e.message}`);
      continue;
    }
    try {
      const env = pipEnv(await ctx.toolEnv('tooling'));
      for (const [i, t] of group.entries()) {
        const dir = `/tmp/copa-pip/${i}`;
        const argv = [
          'python3',
          '-m',
          'pip',
          'install',
          ...PIP_FLAGS,
          '--no-deps',
          '--no-compile',
          '--target',
          dir,
          spec(t),
        ];
        const r = await runPip(exec, argv, env, ctx.indexes, { in: 'tooling', onOutput: ctx.onOutput });
        if (!r.ok) {
          fail(out, t, t.from, `pip install failed: ${r.error}`);
          continue;
        }
        const swap = await exec.run(['python3', '-c', REPLACE, MOUNT, `${MOUNT}${t.loc.site}`, t.name, dir], {
          env,
          in: 'tooling',
        });
        if (swap.code !== 0)
          fail(out, t, t.from, `replacing the files failed: ${pipErrorLine(swap.stderr, swap.stdout)}`);
        else await validate(exec, t, out);
      }
    } finally {
      await ctx.withoutTooling();
    }
  }
}
