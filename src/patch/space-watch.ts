/**
 * Turns "No space left on device" from any phase of a patch into one line that names the directory (the layer
 * cache or the work dir), the phase, what was free when the platform's patch started and about what it needed.
 */
import { stat } from 'node:fs/promises';
import { freeBytes, isNoSpace, noSpaceError, type SpacePlace } from '../fs/space.js';
import type { FlowEnv } from './flow.js';
import type { ProgressEvent } from './phases.js';

export interface SpaceWatch {
  /** `env` with its progress sink watched */
  env: FlowEnv;
  /** `err` itself, or the no-space error it stands for */
  explain(err: unknown): unknown;
}

const device = (p: string): Promise<number | undefined> =>
  stat(p).then(
    (s) => s.dev,
    () => undefined,
  );

export async function watchSpace(env: FlowEnv): Promise<SpaceWatch> {
  const cache: SpacePlace = { dir: env.cache.dir, label: 'the layer cache', flag: '--cache-dir' };
  const work: SpacePlace = {
    dir: env.opts.workingFolder ?? env.cache.tempRoot(),
    label: 'the work dir',
    flag: '--working-folder (-w)',
  };
  const [cacheFree, workFree, cacheDev, workDev] = await Promise.all([
    freeBytes(cache.dir),
    freeBytes(work.dir),
    device(cache.dir),
    device(work.dir),
  ]);
  const shared = cacheDev !== undefined && cacheDev === workDev;
  // the upper dir in memory: what the package managers write fills it, not the work dir
  let memory: { place: SpacePlace; free: number | undefined } | undefined;
  const onMemoryScratch = (dir: string): void => {
    const place = {
      dir,
      label: 'the upper dir, in memory',
      flag: '',
      hint: 'free memory there, or keep the upper dir on disk: COPA_SCRATCH=disk',
    };
    memory = { place, free: undefined };
    void freeBytes(dir).then((free) => {
      if (memory) memory.free = free;
    });
  };
  let phase = '';
  let fraction: number | undefined;
  const sink = env.ctx.progress;
  const progress = (e: ProgressEvent): void => {
    if (e.state === 'start' || e.state === 'fail') phase = e.phase;
    if (e.state === 'start') fraction = undefined;
    // "34.2/65.0 MiB, 1/2 layers": how much of the compressed layers the extraction has consumed
    const m = e.phase === 'layers ready' ? /^([\d.]+)\/([\d.]+) MiB/.exec(e.detail ?? '') : null;
    if (m && Number(m[2]) > 0) fraction = Number(m[1]) / Number(m[2]);
    sink?.(e);
  };
  return {
    env: { ...env, ctx: { ...env.ctx, progress, onMemoryScratch } },
    explain(err: unknown): unknown {
      if (!isNoSpace(err)) return err;
      const text = err instanceof Error ? err.message : String(err);
      const inCache = text.includes(cache.dir) && !text.includes(work.dir);
      const place = shared
        ? { ...cache, label: 'the layer cache and work dir' }
        : inCache || phase === 'layers ready'
          ? cache
          : work;
      const free = place === work ? workFree : cacheFree;
      if (memory && !['layers ready', 'layer written', 'image delivered'].includes(phase))
        return noSpaceError(err, memory.place, phase || 'patch', memory.free);
      return noSpaceError(
        err,
        place,
        phase || 'patch',
        free,
        phase === 'layers ready' ? fraction : undefined,
      );
    },
  };
}
