import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real CNCF distribution registry (Debian `docker-registry`) on 127.0.0.1, for tests. */
export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  host: string;
  dir: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RegistryAuth {
  htpasswd?: string; // path to an htpasswd file (bcrypt)
  token?: { realm: string; service: string; issuer: string; rootcertbundle: string };
}

export async function startRegistry(auth?: RegistryAuth): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'copa-test-registry-'));
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log: {level: warn}',
    `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}}`,
    `http: {addr: 127.0.0.1:${port}}`,
  ];
  if (auth?.htpasswd) lines.push(`auth: {htpasswd: {realm: test, path: ${auth.htpasswd}}}`);
  if (auth?.token) {
    const t = auth.token;
    lines.push(
      `auth: {token: {realm: "${t.realm}", service: "${t.service}", issuer: "${t.issuer}", rootcertbundle: ${t.rootcertbundle}}}`,
    );
  }
  await writeFile(join(dir, 'config.yml'), lines.join('\n') + '\n');
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.arrayBuffer();
      break; // 200 or 401 — the server answers
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`docker-registry did not start on ${host}: ${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    host,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
