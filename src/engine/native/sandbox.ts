import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CopaError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Executor, RunResult } from '../types.js';
import { sandboxEnv } from '../env.js';
import type { Request, Response, SandboxSpec } from './protocol.js';
import { spawnSandboxChild, takePrebooted } from './spawn.js';

/** What to do when the kernel refuses the namespaces: usually copa runs in a container without privileges. */
export const UNSHARE_DENIED_HINT =
  'creating mount/pid namespaces was refused: run as root with CAP_SYS_ADMIN — in a container, `docker run --privileged` (or --cap-add SYS_ADMIN), a privileged Kubernetes pod';

/** A running sandbox: the image root mounted in private namespaces, ready to run commands chrooted. */
export type SandboxSession = Executor;

/**
 * Open a sandbox: the child started early by the CLI (see spawn.ts) if there is one, else a new one; it
 * mounts `spec` and answers requests until closed.
 */
export async function openSandbox(
  spec: SandboxSpec,
  opts: { stateDir: string; logger: Logger; signal?: AbortSignal },
): Promise<SandboxSession> {
  const specFile = join(opts.stateDir, 'sandbox.json');
  await writeFile(specFile, JSON.stringify(spec));
  const early = takePrebooted();
  const { process: child, stderr: stderrText } = early ?? spawnSandboxChild(specFile);
  if (early) child.send({ op: 'setup', id: 0, specFile });
  opts.logger.debug(`sandbox: ${early ? 'the child started early takes' : 'a new child for'} ${specFile}`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  opts.signal?.addEventListener('abort', kill, { once: true });

  const pending = new Map<number, (msg: Response) => void>();
  let nextId = 1;
  let dead: Error | undefined;
  let created: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (msg: Response) => {
      if (msg.op === 'ready') {
        created = msg.created;
        resolve();
      } else if (msg.op === 'failed') {
        reject(new CopaError('ENVIRONMENT', `setting up the sandbox failed: ${msg.message}`));
      } else pending.get(msg.id)?.(msg);
    });
    child.once('exit', (code, signal) => {
      dead = new CopaError(
        opts.signal?.aborted ? 'CANCELLED' : 'ENVIRONMENT',
        `the sandbox exited (${signal ?? `code ${code}`})${stderrText() ? `: ${stderrText().trim().split('\n').pop()}` : ''}`,
        /unshare failed: Operation not permitted/.test(stderrText()) ? { hint: UNSHARE_DENIED_HINT } : {},
      );
      reject(dead);
      for (const cb of pending.values()) cb({ op: 'error', id: 0, message: dead.message });
    });
    child.once('error', (e) => reject(new CopaError('ENVIRONMENT', `cannot start unshare: ${e.message}`)));
  });
  try {
    await ready;
  } catch (e) {
    kill();
    await exited;
    throw e;
  }

  const request = <T>(
    req: Request,
    onMsg: (msg: Response, done: (v: T) => void, fail: (e: Error) => void) => void,
  ) =>
    new Promise<T>((resolve, reject) => {
      if (dead) {
        reject(dead);
        return;
      }
      const done = (v: T): void => {
        pending.delete(req.id);
        resolve(v);
      };
      const fail = (e: Error): void => {
        pending.delete(req.id);
        reject(e);
      };
      pending.set(req.id, (msg) => {
        if (msg.op === 'error') fail(dead ?? new CopaError('ENVIRONMENT', msg.message));
        else onMsg(msg, done, fail);
      });
      child.send(req);
    });

  return {
    created,
    bind(mount, root) {
      return request<void>(
        { op: 'bind', id: nextId++, bind: mount, ...(root ? { in: root } : {}) },
        (msg, done) => {
          if (msg.op === 'bound') {
            created.push(...msg.created);
            done();
          }
        },
      );
    },
    run(cmd, ro = {}) {
      let out = '';
      let err = '';
      const req: Request = {
        op: 'run',
        id: nextId++,
        argv: cmd,
        env: ro.env ?? sandboxEnv(),
        ...(ro.in ? { in: ro.in } : {}),
      };
      if (ro.stdin !== undefined) req.stdin = ro.stdin;
      return request<RunResult>(req, (msg, done) => {
        if (msg.op === 'output') {
          if (msg.stream === 'stdout') out += msg.data;
          else err += msg.data;
          ro.onOutput?.(msg.stream, msg.data);
        } else if (msg.op === 'exit') done({ code: msg.code, stdout: out, stderr: err });
      });
    },
    readFile(path, root) {
      return request<Buffer | undefined>(
        { op: 'read', id: nextId++, path, ...(root ? { in: root } : {}) },
        (msg, done) => {
          if (msg.op === 'file') done(msg.data === null ? undefined : Buffer.from(msg.data, 'base64'));
        },
      );
    },
    list(path, root) {
      return request<string[] | undefined>(
        { op: 'list', id: nextId++, path, ...(root ? { in: root } : {}) },
        (msg, done) => {
          if (msg.op === 'names') done(msg.names ?? undefined);
        },
      );
    },
    async close() {
      if (!dead && child.connected) child.send({ op: 'close', id: 0 });
      const timer = setTimeout(kill, 5000);
      await exited;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', kill);
    },
  };
}
