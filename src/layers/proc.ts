/** Run a helper program (argv, never a shell) and collect its output. */
import { spawn } from 'node:child_process';
import { CopaError } from '../errors.js';

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

const PACKAGE_OF: Record<string, string> = { getfattr: 'attr', setfattr: 'attr', mknod: 'coreutils' };

export function run(cmd: string, args: readonly string[], input?: Buffer): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        const pkg = PACKAGE_OF[cmd];
        reject(
          new CopaError('ENVIRONMENT', `${cmd} is not installed`, {
            hint: pkg ? `install it (Debian package ${pkg})` : `install ${cmd}`,
            cause: e,
          }),
        );
      } else reject(e);
    });
    child.on('close', (code, signal) => {
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8').trim(),
      });
    });
    if (input && child.stdin) {
      child.stdin.on('error', () => {}); // EPIPE when the child exits early; its exit code tells
      child.stdin.end(input);
    }
  });
}
