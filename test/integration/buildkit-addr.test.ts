import { Client, Metadata } from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSigned } from '../helpers/certs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildkitdToml, unmountBelow } from '../../bench/buildkit.js';
import { dial, type Dialed } from '../../src/engine/buildkit/addr/index.js';
import { startDockerd, type TestDocker } from '../helpers/dockerd.js';
import { run } from '../helpers/exec.js';

/**
 * Every address scheme proven by a real gRPC call (Control/ListWorkers, empty request) through dial():
 * a private buildkitd (unix + tcp with mTLS), the embedded BuildKit of the test Docker 20.10 (docker://),
 * and a buildkitd container in that Docker (docker-container://).
 */

const BUILDKITD = process.env.COPA_TEST_BUILDKITD?.trim();
const BUILDCTL = process.env.COPA_TEST_BUILDCTL?.trim();
const have = !!BUILDKITD && !!BUILDCTL;
if (!have && process.env.COPA_REQUIRE_TOOLS === '1')
  throw new Error('COPA_REQUIRE_TOOLS=1 but COPA_TEST_BUILDKITD / COPA_TEST_BUILDCTL are unset');
const skipReason = have ? '' : ' (skipped: set COPA_TEST_BUILDKITD and COPA_TEST_BUILDCTL)';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function listWorkers(d: Dialed, timeoutMs = 30_000): Promise<Buffer> {
  const client = new Client(d.target, d.credentials, d.channelOptions);
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(
      '/moby.buildkit.v1.Control/ListWorkers',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      new Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, value) => (err || !value ? reject(err ?? new Error('no reply')) : resolve(value)),
    );
  }).finally(() => client.close());
}

async function viaDial(addr: string, opts: Parameters<typeof dial>[1] = {}): Promise<string> {
  const d = await dial(addr, opts);
  try {
    return (await listWorkers(d)).toString('latin1');
  } finally {
    await d.close();
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise((r) => srv.close(r));
  return typeof addr === 'object' && addr ? addr.port : 0;
}

/** CA, server cert (127.0.0.1 + buildkit.test), client cert, and a second unrelated CA. */
async function makeCerts(dir: string): Promise<void> {
  const ossl = (args: string[]) => run('openssl', args, { cwd: dir });
  for (const ca of ['ca', 'other-ca'])
    await selfSigned({ key: `${ca}.key`, cert: `${ca}.pem`, cn: ca, cwd: dir });
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:buildkit.test\n');
  for (const [name, ext] of [
    ['server', ['-extfile', 'san.ext']],
    ['client', []],
  ] as const) {
    await ossl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ]);
    await ossl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.pem`,
      ...ext,
    ]);
  }
}

describe.skipIf(!have)(`BuildKit addresses${skipReason}`, () => {
  let dir = '';
  let child: ChildProcess | undefined;
  let sock = '';
  let port = 0;
  let docker: TestDocker | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'copa-bk-addr-'));
    await makeCerts(dir);
    await writeFile(join(dir, 'buildkitd.toml'), buildkitdToml([]));
    sock = join(dir, 'buildkitd.sock');
    port = await freePort();
    child = spawn(
      'setpriv',
      [
        '--pdeathsig=TERM',
        'unshare',
        '--mount',
        '--propagation=private',
        BUILDKITD ?? '',
        '--config',
        join(dir, 'buildkitd.toml'),
        '--root',
        join(dir, 'root'),
        '--oci-worker-net=host',
        '--addr',
        `unix://${sock}`,
        '--addr',
        `tcp://127.0.0.1:${port}`,
        '--tlscacert',
        join(dir, 'ca.pem'),
        '--tlscert',
        join(dir, 'server.pem'),
        '--tlskey',
        join(dir, 'server.key'),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    for (let i = 0; ; i++) {
      const ok = await run(BUILDCTL ?? '', ['--addr', `unix://${sock}`, 'debug', 'workers']).then(
        () => true,
        () => false,
      );
      if (ok) break;
      if (i > 300 || child.exitCode !== null) throw new Error('buildkitd did not start');
      await sleep(200);
    }
  });

  afterAll(async () => {
    await docker?.stop();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (dir) {
      await unmountBelow(join(dir, 'root'), (m) => process.stderr.write(`${m}\n`));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('unix:// reaches buildkitd', async () => {
    expect(await viaDial(`unix://${sock}`)).toContain('linux');
  });

  it('unix:// to a socket that is not there fails with UNAVAILABLE', async () => {
    await expect(viaDial(`unix://${join(dir, 'nothing.sock')}`)).rejects.toMatchObject({ code: 14 });
  });

  it('tcp:// with mTLS (CA, client cert and key), also with a server-name override', async () => {
    const tls = { caCert: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') };
    expect(await viaDial(`tcp://127.0.0.1:${port}`, { tls })).toContain('linux');
    expect(
      await viaDial(`tcp://localhost:${port}`, { tls: { ...tls, serverName: 'buildkit.test' } }),
    ).toContain('linux');
  });

  it('tcp:// TLS failures: wrong CA, no client cert, plaintext to a TLS port', async () => {
    const cert = { cert: join(dir, 'client.pem'), key: join(dir, 'client.key') };
    const addr = `tcp://127.0.0.1:${port}`;
    await expect(
      viaDial(addr, { tls: { caCert: join(dir, 'other-ca.pem'), ...cert } }),
    ).rejects.toMatchObject({ code: 14 });
    await expect(viaDial(addr, { tls: { caCert: join(dir, 'ca.pem') } })).rejects.toMatchObject({ code: 14 });
    await expect(viaDial(addr)).rejects.toMatchObject({ code: 14 });
  });

  describe('in the test Docker 20.10', () => {
    beforeAll(async () => {
      docker = await startDockerd();
    });

    it('docker:// (DOCKER_HOST and an explicit socket) reaches the embedded BuildKit through POST /grpc', async () => {
      const env = docker?.env ?? {};
      expect(await viaDial('docker://', { env })).toContain('linux');
      expect(await viaDial(`docker://${docker?.socket ?? ''}`, { env: {} })).toContain('linux');
    });

    it('docker:// to a daemon that is not there: one clear line from the failure', async () => {
      const d = await dial(`docker://${join(dir, 'no-docker.sock')}`);
      await expect(listWorkers(d, 5000)).rejects.toMatchObject({ code: 14 });
      expect(d.failure?.()?.message).toMatch(/Docker daemon at unix:\/\/.*no-docker\.sock: connect ENOENT/);
      await d.close();
    });

    it('docker-container:// and buildx:// run buildctl dial-stdio in a buildkitd container', async () => {
      const d = docker;
      if (!d) throw new Error('no docker');
      // image: static buildkitd + buildctl, runc and the libraries it links, imported from a tar. Not
      // --privileged (this host refuses it: "unable to apply caps"): enough to serve gRPC, not to run steps
      const root = join(dir, 'image');
      const files: Array<[string, string]> = [
        [BUILDKITD ?? '', '/usr/bin/buildkitd'],
        [BUILDCTL ?? '', '/usr/bin/buildctl'],
        ['/usr/sbin/runc', '/usr/bin/runc'],
      ];
      const libs = (await run('ldd', ['/usr/sbin/runc'])).stdout.match(/\/\S+\.so[.\d]*/g) ?? [];
      for (const lib of libs) files.push([lib, lib]);
      for (const [from, to] of files) {
        await mkdir(join(root, to, '..'), { recursive: true });
        await copyFile(from, join(root, to));
      }
      for (const d2 of ['tmp', 'run', 'var/lib/buildkit', 'proc', 'sys', 'dev', 'etc'])
        await mkdir(join(root, d2), { recursive: true });
      await run('tar', ['-C', root, '-cf', join(dir, 'image.tar'), '.']);
      await d.docker(['import', join(dir, 'image.tar'), 'copa-test-buildkitd:1']);
      await d.docker([
        'run',
        '-d',
        '--name',
        'buildx_buildkit_copa0',
        '--network=host',
        'copa-test-buildkitd:1',
        '/usr/bin/buildkitd',
        '--oci-worker-snapshotter=native',
        '--oci-worker-net=host',
      ]);
      const env = d.env;
      let last: unknown;
      for (let i = 0; i < 100; i++) {
        try {
          expect(await viaDial('docker-container://buildx_buildkit_copa0', { env })).toContain('linux');
          last = undefined;
          break;
        } catch (e) {
          last = e;
          await sleep(300);
        }
      }
      if (last !== undefined) {
        const logs = await d
          .docker(['logs', 'buildx_buildkit_copa0'])
          .catch((e: unknown) => ({ stdout: '', stderr: String(e) }));
        const why = last instanceof Error ? last.message : JSON.stringify(last);
        throw new Error(`${why}\n${logs.stdout}${logs.stderr}`.slice(0, 4000));
      }
      // the same container as the node of a buildx docker-container builder
      const instances = join(env.DOCKER_CONFIG ?? '', 'buildx', 'instances');
      await mkdir(instances, { recursive: true });
      const node = { Name: 'copa0', Endpoint: `unix://${d.socket}` };
      await writeFile(join(instances, 'copa'), JSON.stringify({ Driver: 'docker-container', Nodes: [node] }));
      expect(await viaDial('buildx://', { env: { ...env, BUILDX_BUILDER: 'copa' } })).toContain('linux');
      // a container that is not there: the call fails, failure() has docker's one line
      const gone = await dial('docker-container://copa-nope', { env });
      try {
        await expect(listWorkers(gone, 10_000)).rejects.toMatchObject({ code: 14 });
        expect(gone.failure?.()?.message).toMatch(
          /docker exec -i copa-nope buildctl dial-stdio exited 1: .*No such container/,
        );
      } finally {
        await gone.close();
      }
      await d.docker(['rm', '-f', 'buildx_buildkit_copa0']);
    });
  });
});
