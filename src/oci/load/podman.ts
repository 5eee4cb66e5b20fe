import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { CopaError, withContext } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { writeDockerArchive } from '../archive/docker.js';
import type { Image } from '../image.js';

/** `name` as found on PATH (an executable file), or undefined. */
export async function findExecutable(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const STDERR_TAIL = 4000;

/**
 * `podman load` with the docker-archive of `image` (tagged `repoTag`) streamed to its stdin. Podman's own
 * configuration applies (CONTAINERS_STORAGE_CONF, CONTAINERS_CONF...), from `env`.
 */
export async function podmanLoad(
  podman: string,
  image: Image,
  repoTag: string,
  opts: { logger?: Logger; signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {},
): Promise<{ loaded: string[] }> {
  const logger = opts.logger ?? silentLogger;
  opts.signal?.throwIfAborted();
  const child = spawn(podman, ['load'], { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-STDERR_TAIL);
  });
  // podman may exit before reading everything: its exit status explains, not our EPIPE
  child.stdin.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (e) => {
      reject(
        new CopaError('ENVIRONMENT', `cannot run ${podman}: ${e.message}`, {
          hint: 'install podman, or use --loader docker, --push or --oci-dir DIR',
        }),
      );
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  const onAbort = (): void => {
    child.kill('SIGTERM');
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const writing = writeDockerArchive(child.stdin, image, [repoTag]);
  try {
    const [w, code] = await Promise.allSettled([writing, exited]);
    if (opts.signal?.aborted) {
      throw opts.signal.reason instanceof CopaError
        ? opts.signal.reason
        : new CopaError('CANCELLED', 'operation canceled');
    }
    if (code.status === 'rejected') throw code.reason;
    // a broken image (digest mismatch...) truncates the archive, and podman then fails: name the cause
    if (w.status === 'rejected' && w.reason instanceof CopaError && w.reason.code !== 'INTERNAL')
      throw w.reason;
    if (code.value !== 0) {
      const detail = stderr.trim().split('\n').slice(-5).join(' / ') || `exit code ${code.value}`;
      throw new CopaError('ENVIRONMENT', `podman load failed: ${detail}`, {
        hint: 'run `podman info` to check podman; --push or --oci-dir avoid it',
      });
    }
    if (w.status === 'rejected') throw withContext(w.reason, 'streaming the image to podman load');
    const loaded = [...stdout.matchAll(/Loaded image(?:\(s\))?: (\S+)/g)].flatMap((m) =>
      m[1] ? m[1].split(',') : [],
    );
    for (const l of loaded) logger.debug(`podman: loaded ${l}`);
    return { loaded };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
