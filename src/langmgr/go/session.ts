/**
 * Commands in the golang tooling root: the image is bound at TARGET, every Go cache and scratch copy
 * lives under SCRATCH in the tooling root's own /tmp (never in the image), and the environment follows
 * flag > host env > image env for GOPROXY and friends.
 */
import { sandboxEnv } from '../../engine/env.js';
import type { Executor, RunResult } from '../../engine/types.js';
import { redactText } from '../common/indexes.js';
import type { LanguageContext } from '../types.js';

/** the official golang image */
export const GOLANG_IMAGE = 'docker.io/library/golang:1';
/** where the image appears in the tooling root */
export const TARGET = '/tmp/copa-target';
/** scratch (caches, sources, built binaries) in the tooling root */
export const SCRATCH = '/tmp/copa-go';

const IMAGE_GO_VARS = ['GOPROXY', 'GOFLAGS', 'GOPRIVATE', 'GONOPROXY', 'GONOSUMDB', 'GOSUMDB', 'GOINSECURE'];

/** Go variables of the image config (`ENV GOPROXY=...`). */
export function imageGoEnv(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of lines) {
    const eq = l.indexOf('=');
    const k = l.slice(0, eq);
    if (eq > 0 && IMAGE_GO_VARS.includes(k)) out[k] = l.slice(eq + 1);
  }
  return out;
}

/** GOFLAGS of the image minus what would defeat the patch (-mod=vendor/readonly, -buildvcs=false). */
export function goflags(image: string | undefined): string {
  const kept = (image ?? '').split(/\s+/).filter((f) => f && !/^--?(mod|buildvcs|modcacherw)(=|$)/.test(f));
  return [...kept, '-modcacherw'].join(' ');
}

/** The environment of every go/git command: image env < host env/flags (toolEnv) < our fixed settings. */
export function goEnvironment(imageEnv: string[], toolEnv: Record<string, string>): Record<string, string> {
  const img = imageGoEnv(imageEnv);
  return sandboxEnv({
    ...img,
    ...toolEnv,
    PATH: '/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: `${SCRATCH}/home`,
    GOPATH: `${SCRATCH}/gopath`,
    GOMODCACHE: `${SCRATCH}/gopath/pkg/mod`,
    GOCACHE: `${SCRATCH}/cache`,
    GOENV: 'off',
    GOFLAGS: goflags(img.GOFLAGS),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
  });
}

/** A failed step: the command and the tail of its output (credentials removed). */
export class StepError extends Error {}

export class GoSession {
  constructor(
    readonly ctx: LanguageContext,
    readonly exec: Executor,
    readonly env: Record<string, string>,
  ) {}

  /** Run argv in the tooling root; a non-zero exit throws a StepError unless `allowFail`. */
  async run(
    argv: string[],
    opts: { env?: Record<string, string>; allowFail?: boolean } = {},
  ): Promise<RunResult> {
    this.ctx.signal.throwIfAborted();
    this.ctx.logger.debug(`go tooling: ${argv.join(' ')}`);
    const r = await this.exec.run(argv, {
      in: 'tooling',
      env: { ...this.env, ...opts.env },
      onOutput: this.ctx.onOutput,
    });
    if (r.code !== 0 && !opts.allowFail) {
      const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-6).join(' | ');
      // `go get`, not `go -C /tmp/copa-go/b0/src`
      const shown = argv.filter((a, k) => a !== '-C' && argv[k - 1] !== '-C').slice(0, 3);
      throw new StepError(
        redactText(`${shown.join(' ')} failed (exit ${r.code}): ${tail}`, this.ctx.indexes),
      );
    }
    return r;
  }

  /** Read a file of the tooling root (the image is under TARGET). */
  async read(path: string): Promise<string | undefined> {
    return (await this.exec.readFile(path, 'tooling'))?.toString('utf8');
  }
}

/** An image path (Trivy style, no leading `/`, or absolute) as seen from the tooling root. */
export function inTarget(imagePath: string): string {
  return `${TARGET}/${imagePath.replace(/^\/+/, '')}`;
}

/** `/usr/bin/app` for `usr/bin/app` or `/tmp/copa-target/usr/bin/app`. */
export function imagePath(p: string): string {
  const s = p.startsWith(`${TARGET}/`) ? p.slice(TARGET.length) : p;
  return '/' + s.replace(/^\/+/, '');
}
