/**
 * A user without root: `copa patch` / `copa generate` on the native engine re-run themselves inside a user
 * namespace (src/engine/native/userns.ts) when the machine allows it; otherwise the run goes on and the
 * engine's root check says which part is missing.
 */
import { rootlessPlan, runInUserNamespace, wantsUserNamespace } from '../engine/native/userns.js';

// cache: a rootless run's cache holds files of the subordinate ids, which only the namespace can remove
const NATIVE_COMMANDS = new Set(['patch', 'generate', 'cache']);

/** argv without node and script: does this run need the native engine's privileges? */
export function needsPrivileges(args: string[]): boolean {
  const command = args.find((a) => !a.startsWith('-'));
  if (command === undefined || !NATIVE_COMMANDS.has(command)) return false;
  if (args.some((a) => a === '-h' || a === '--help')) return false;
  // the BuildKit engine runs in its daemon
  if (args.some((a) => a === '--addr' || a.startsWith('--addr='))) return false;
  // a dry run with a report reads the image without mounting it (see --dry-run)
  const report = args.some((a) => a === '-r' || a === '--report' || a.startsWith('--report='));
  return !(report && args.includes('--dry-run'));
}

/** The exit code of the run inside a user namespace, or undefined to run here. */
export function runRootless(argv: string[]): Promise<number> | undefined {
  if (!wantsUserNamespace() || !needsPrivileges(argv.slice(2))) return undefined;
  const plan = rootlessPlan();
  if ('missing' in plan) return undefined;
  return runInUserNamespace(plan, [process.execPath, ...process.execArgv, ...argv.slice(1)]);
}
