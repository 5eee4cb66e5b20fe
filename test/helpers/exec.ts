import { spawn } from 'node:child_process';

/** Test-side process helper: run a command (argv, never a shell string built from data) and collect its output. */

export interface RunOptions {
  cwd?: string;
  /** Replaces the whole environment when given. */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  /** SIGKILL after this many milliseconds (the error then says so). */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** A command that could not start, exited non-zero or was killed; the message names the command and its stderr. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

const TAIL_LINES = 25;

function tail(text: string): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-TAIL_LINES).join('\n');
}

function shown(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const argv = [cmd, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new CommandError(`cannot run ${shown(argv)}: ${e.message}`, argv, null, '', ''));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) {
        resolve({ stdout, stderr });
        return;
      }
      const why = timedOut
        ? `timed out after ${opts.timeoutMs}ms`
        : signal
          ? `was killed by ${signal}`
          : `exited with code ${code}`;
      const detail = tail(stderr) || tail(stdout);
      reject(
        new CommandError(`${shown(argv)} ${why}${detail ? `:\n${detail}` : ''}`, argv, code, stdout, stderr),
      );
    });
  });
}
