import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resultSchemaErrors } from './result-schema.js';

/** Runs the built CLI (dist/cli/main.js) exactly as a user would. */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  /** a command that runs the CLI, e.g. setpriv … (the CLI's node and path follow it) */
  wrapper: string[] = [],
): { child: ChildProcess; done: Promise<CliResult> } {
  const argv = [...wrapper, process.execPath, CLI, ...args];
  const child = spawn(argv[0] as string, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
  return { child, done };
}

export async function copa(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  const r = await startCli(args, env).done;
  checkJsonOutput(args, r);
  return r;
}

/**
 * `copa patch --json` (not bulk) prints one JSON object on stdout whatever happens: a result, or an
 * error object. Every e2e run checks it against schema/patch-result.schema.json.
 */
function checkJsonOutput(args: string[], r: CliResult): void {
  if (args[0] !== 'patch' || !args.includes('--json')) return;
  if (args.includes('--config') || args.includes('--plan')) return;
  if (r.code >= 128) return; // killed by a signal: nothing to check
  let value: unknown;
  try {
    value = JSON.parse(r.stdout);
  } catch {
    throw new Error(
      `copa ${args.join(' ')} (exit ${r.code}): --json printed no JSON object:\n${r.stdout}\n${r.stderr}`,
    );
  }
  const errors = resultSchemaErrors(value);
  if (errors.length > 0) {
    throw new Error(`copa ${args.join(' ')}: --json output does not match the schema:\n${errors.join('\n')}`);
  }
}
