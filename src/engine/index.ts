/**
 * Engines: the contract (types.ts) and the choice of implementation. The patch flow asks for an engine
 * here; package-manager adapters import only `types.ts` and `env.ts`.
 */
import { buildkitEngine } from './buildkit/index.js';
import { nativeEngine } from './native/index.js';
import type { Engine } from './types.js';

export type * from './types.js';
export { sandboxEnv } from './env.js';

/** The daemonless engine (the default). */
export function defaultEngine(): Engine {
  return nativeEngine;
}

export interface EngineChoice {
  engine?: 'native' | 'buildkit' | undefined;
  addr?: string | undefined;
  cacert?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

/**
 * The engine of a run: BuildKit when `--addr` is given or `--engine buildkit` is asked for (then without
 * --addr the daemon is auto-detected as Copa does), else the native engine.
 */
export function engineFor(choice: EngineChoice): Engine {
  if (choice.engine !== 'buildkit' && !choice.addr) return nativeEngine;
  const tls =
    choice.cacert || choice.cert || choice.key
      ? {
          ...(choice.cacert ? { caCert: choice.cacert } : {}),
          ...(choice.cert ? { cert: choice.cert } : {}),
          ...(choice.key ? { key: choice.key } : {}),
        }
      : undefined;
  return buildkitEngine({ addr: choice.addr, tls });
}
