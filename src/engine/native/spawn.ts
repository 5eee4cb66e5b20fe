/**
 * Starting the sandbox child (child.ts) in its namespaces, and starting it early: Node needs ~0.1 s to boot
 * the child, which a `copa patch` run can spend while its own bundle loads and the image is resolved. The
 * CLI's entry calls `prebootSandbox()` first thing; the first sandbox of the run then takes that child and
 * sends it its spec instead of starting one. An unused child holds nothing (no mount, no file) and exits
 * when this process does (its IPC channel closes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface SandboxChild {
  process: ChildProcess;
  /** what the child (and unshare) wrote to stderr so far */
  stderr: () => string;
}

function childCommand(): string[] {
  // beside this module: dist/engine/native/child.js (tsc), or dist/cli/child.js beside the bundled CLI
  const js = fileURLToPath(new URL('./child.js', import.meta.url));
  if (existsSync(js)) return [process.execPath, js];
  // running from TypeScript sources (tests): let tsx load the child
  const ts = fileURLToPath(new URL('./child.ts', import.meta.url));
  return [process.execPath, '--import', 'tsx', ts];
}

/**
 * The child's own environment: the parent's, without extra CA certificates (Node parses that file at every
 * start, ~30 ms for a system bundle; the child makes no TLS connection). Commands get an environment of
 * their own with each request.
 */
export function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _ca, ...rest } = env;
  return rest;
}

/**
 * The child in new mount (private propagation), pid, ipc and uts namespaces. `--kill-child` makes sure the
 * child (PID 1 of its namespace, hence every process in it) dies with `unshare`. Without `specFile` it waits
 * for a `setup` message.
 */
export function spawnSandboxChild(specFile?: string): SandboxChild {
  const argv = ['--mount', '--propagation', 'private', '--pid', '--ipc', '--uts', '--fork', '--kill-child'];
  const child = spawn('unshare', [...argv, ...childCommand(), ...(specFile ? [specFile] : [])], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: childEnv(process.env),
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return { process: child, stderr: () => stderr };
}

let early: SandboxChild | undefined;

/** Whether this command line is a single-image patch on the native engine as root (argv without node and script). */
export function wantsPreboot(args: string[]): boolean {
  // the one global option (--debug) may come first
  const command = args.find((a) => a !== '--debug');
  if (command !== 'patch' || process.getuid?.() !== 0) return false;
  const off = ['--addr', '-a', '--engine', '--config', '--plan', '--dry-run', '-h', '--help'];
  return !args.some((a) => off.includes(a) || off.some((o) => o.startsWith('--') && a.startsWith(`${o}=`)));
}

/** Start the child now, detached from this process's event loop until a sandbox takes it. */
export function prebootSandbox(): void {
  if (early) return;
  try {
    const c = spawnSandboxChild();
    c.process.on('error', () => undefined); // no unshare: the sandbox's own start reports it
    c.process.unref();
    c.process.channel?.unref();
    (c.process.stderr as { unref?: () => void } | null)?.unref?.();
    early = c;
  } catch {
    early = undefined;
  }
}

/** The early child, once, if it is still alive (and attached to the event loop again). */
export function takePrebooted(): SandboxChild | undefined {
  const c = early;
  early = undefined;
  if (!c) return undefined;
  const p = c.process;
  if (p.exitCode !== null || p.signalCode !== null || !p.connected) {
    p.kill('SIGKILL');
    return undefined;
  }
  p.ref();
  p.channel?.ref();
  (p.stderr as { ref?: () => void } | null)?.ref?.();
  return c;
}
