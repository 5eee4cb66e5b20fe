/**
 * Mounts of the sandbox child, batched: `mount` costs a process start each (~10 ms with the spawn), and a
 * sandbox needs about 15 of them. Mounts that do not depend on each other are written as an fstab and done
 * by one `mount --fstab FILE --all`, which mounts the lines in order and fails with every failed line's
 * message. A mount whose target lies under a queued one waits for the queue to be flushed first.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface MountEntry {
  source: string;
  /** host path */
  target: string;
  /** filesystem type; `none` for a bind */
  type: string;
  options: string;
}

/** fstab fields escape whitespace and backslashes as octal, as getmntent(3) reads them. */
export function fstabField(s: string): string {
  if (s === '') throw new Error('an empty fstab field');
  return s.replace(/[\\\s]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

export function fstabText(entries: readonly MountEntry[]): string {
  return entries
    .map((e) => [e.source, e.target, e.type, e.options].map(fstabField).join(' ') + ' 0 0\n')
    .join('');
}

/** `mount` with these arguments; its own message in the error. */
export async function mount(args: string[], cwd?: string): Promise<void> {
  try {
    await run('mount', args, cwd === undefined ? {} : { cwd });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const why = (err.stderr ?? err.message).trim().split('\n')[0] ?? '';
    throw new Error(`mount ${args.join(' ')}: ${why}`, { cause: e });
  }
}

function mountArgs(e: MountEntry): string[] {
  return e.type === 'none'
    ? ['-o', e.options, e.source, e.target]
    : ['-t', e.type, '-o', e.options, e.source, e.target];
}

export class MountQueue {
  private pending: MountEntry[] = [];
  private files = 0;

  /** `dir`: where the fstab files go (the run's state dir, private to it) */
  constructor(private readonly dir: string) {}

  add(entry: MountEntry): void {
    this.pending.push(entry);
  }

  /** Whether `hostPath` is a queued target or lies under one (it must wait for the flush). */
  covers(hostPath: string): boolean {
    return this.pending.some((e) => hostPath === e.target || hostPath.startsWith(`${e.target}/`));
  }

  async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    if (batch.length === 1) return mount(mountArgs(batch[0]!));
    const file = join(this.dir, `fstab-${++this.files}`);
    await writeFile(file, fstabText(batch), { mode: 0o600 });
    try {
      await run('mount', ['--fstab', file, '--all']);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      const lines = (err.stderr ?? err.message).split('\n').filter((l) => l.startsWith('mount:'));
      throw new Error(lines.join('; ') || `mount --fstab ${file} --all: ${err.message}`, { cause: e });
    }
  }
}
