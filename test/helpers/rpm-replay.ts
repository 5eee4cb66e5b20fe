/**
 * A replay of a sandbox session, for package managers that cannot run on this machine (apk, pacman, tdnf,
 * yum, microdnf, zypper): each expected command returns a recorded (or documented-format) output, files come
 * from a map. It records every command so a test can assert the exact argv Copa's rules ask for.
 * Not a sandbox: nothing is executed.
 */
import type { Executor as SandboxSession, RunOptions, RunResult } from '../../src/engine/types.js';
import type { RootName } from '../../src/engine/native/protocol.js';
import { silentLogger, type Logger } from '../../src/log.js';
import type { PackageManagerContext } from '../../src/pkgmgr/types.js';

export interface ReplayStep {
  argv: string[];
  in?: RootName;
  result?: Partial<RunResult>;
}

export interface ReplaySession extends SandboxSession {
  /** the commands run so far, as `[root] argv...` strings */
  readonly calls: string[];
  /** steps not consumed */
  readonly pending: ReplayStep[];
}

function show(argv: readonly string[], root: RootName | undefined): string {
  return `${root === 'tooling' ? '[tooling] ' : ''}${argv.join(' ')}`;
}

export function replaySession(opts: {
  steps: ReplayStep[];
  files?: Record<string, string>;
  dirs?: Record<string, string[]>;
}): ReplaySession {
  const pending = [...opts.steps];
  const calls: string[] = [];
  return {
    created: [],
    calls,
    pending,
    bind: () => Promise.resolve(),
    run(argv: string[], ro: RunOptions = {}): Promise<RunResult> {
      const call = show(argv, ro.in);
      calls.push(call);
      const next = pending.shift();
      if (!next || show(next.argv, next.in) !== call) {
        return Promise.reject(
          new Error(`unexpected command: ${call}\n  expected: ${next ? show(next.argv, next.in) : '(none)'}`),
        );
      }
      const result = { code: 0, stdout: '', stderr: '', ...next.result };
      if (result.stdout) ro.onOutput?.('stdout', result.stdout);
      return Promise.resolve(result);
    },
    readFile(path: string): Promise<Buffer | undefined> {
      const text = opts.files?.[path];
      return Promise.resolve(text === undefined ? undefined : Buffer.from(text));
    },
    list(path: string): Promise<string[] | undefined> {
      return Promise.resolve(opts.dirs?.[path]);
    },
    close: () => Promise.resolve(),
  };
}

/** A logger that keeps its warnings. */
export function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warn: (m: string) => void warnings.push(m), warnings };
}

export function replayContext(
  session: SandboxSession,
  opts: { ignoreErrors?: boolean; logger?: Logger } = {},
): PackageManagerContext {
  return { session, logger: opts.logger ?? silentLogger, ignoreErrors: opts.ignoreErrors ?? false };
}
