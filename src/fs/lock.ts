/**
 * Cross-process locks on the shared cache (and on OCI layout directories), built on proper-lockfile: a
 * lock is a directory created atomically with mkdir(2); its holder refreshes the directory's mtime every
 * few seconds, and a lock whose mtime is older than STALE_MS counts as abandoned. So a crashed holder
 * (even kill -9) never blocks the next run for more than STALE_MS, and locks work between containers
 * that share the cache (no PIDs are compared).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { CopaError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';

export const STALE_MS = 10_000;
const DEFAULT_WAIT_MS = 15 * 60_000;

export interface LockOptions {
  /** what the lock protects, for messages: "the package indexes of debian 12 (linux/amd64)" */
  what: string;
  /** give up after this long (default $COPA_LOCK_TIMEOUT seconds, else 15 minutes) */
  waitMs?: number;
  logger?: Logger;
  signal?: AbortSignal;
  /** where the lock directory goes (default `<path>.lock`) */
  lockPath?: string;
}

export function lockWaitMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.COPA_LOCK_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : DEFAULT_WAIT_MS;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort(): void {
      clearTimeout(t);
      reject(
        signal?.reason instanceof Error ? signal.reason : new CopaError('CANCELLED', 'operation canceled'),
      );
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/**
 * Run `fn` holding the lock on `path`. Waits (bounded, with a progress line every 15 s) while another
 * process holds it; the lock is released when `fn` settles, and on process exit.
 */
export async function withLock<T>(path: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const logger = opts.logger ?? silentLogger;
  const lockfilePath = opts.lockPath ?? `${path}.lock`;
  const waitMs = opts.waitMs ?? lockWaitMs();
  await mkdir(dirname(lockfilePath), { recursive: true });
  const start = Date.now();
  let nextNotice = 0;
  let compromised: Error | undefined;
  let release: (() => Promise<void>) | undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      release = await lockfile.lock(path, {
        realpath: false,
        lockfilePath,
        stale: STALE_MS,
        update: STALE_MS / 4,
        onCompromised: (e) => {
          compromised = e;
        },
      });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    }
    const waited = Date.now() - start;
    if (waited >= waitMs) {
      throw new CopaError(
        'LOCKED',
        `waited ${Math.round(waited / 1000)}s for ${opts.what}: another copa process still holds ${lockfilePath}`,
        {
          hint: `let that run finish (raise the wait with COPA_LOCK_TIMEOUT=<seconds>); a lock whose holder died frees itself after ${STALE_MS / 1000}s`,
        },
      );
    }
    if (waited >= nextNotice) {
      if (nextNotice === 0) logger.info(`Waiting for ${opts.what} (another copa process is using it)`);
      else logger.info(`Still waiting for ${opts.what} (${Math.round(waited / 1000)}s)`);
      nextNotice = waited + 15_000;
    }
    await sleep(150 + Math.floor(Math.random() * 250), opts.signal);
  }
  try {
    return await fn();
  } finally {
    if (compromised) logger.debug(`lock on ${opts.what} was taken over while held: ${compromised.message}`);
    await release().catch(() => undefined);
  }
}
