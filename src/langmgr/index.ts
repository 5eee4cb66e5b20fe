/**
 * Library ("application-level") patching: choose one version per library (select.ts), hand each
 * ecosystem's entries to its manager, collect what changed. The managers are registered here.
 */
import type { LanguageManager } from './types.js';
import { pythonManager } from './python/manager.js';
import { dotnetManager } from './dotnet/manager.js';
import { goManager } from './go/manager.js';
import { nodeManager } from './node/manager.js';

export * from './types.js';
export { chooseFixedVersion, selectLibraryUpdates, splitGoStdlib, type LibraryPatchLevel } from './select.js';
export { resolveIndexes, redactUrl } from './common/indexes.js';

const MANAGERS: LanguageManager[] = [pythonManager, dotnetManager, goManager, nodeManager];

/** Every registered ecosystem manager (python, node, go, dotnet). */
export function languageManagers(): readonly LanguageManager[] {
  return MANAGERS;
}

/** The manager for a report type (python-pkg, node-pkg, gomod, gobinary, dotnet-core), if any. */
export function managerFor(type: string): LanguageManager | undefined {
  return MANAGERS.find((m) => (m.types as readonly string[]).includes(type));
}
