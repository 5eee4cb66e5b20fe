/**
 * Engines: the contract (types.ts) and the choice of implementation. The patch flow asks for an engine
 * here; package-manager adapters import only `types.ts` and `env.ts`.
 */
import { nativeEngine } from './native/index.js';
import type { Engine } from './types.js';

export type * from './types.js';
export { sandboxEnv } from './env.js';

/** The engine of this run (only the native engine exists today). */
export function defaultEngine(): Engine {
  return nativeEngine;
}
