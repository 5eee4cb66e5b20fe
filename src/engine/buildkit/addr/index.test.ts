import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { autoCandidates, dial, execArgv, parseAddress } from './index.js';

let dir = '';
let env: NodeJS.ProcessEnv = {};
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'copa-dial-test-'));
  await mkdir(join(dir, 'bin'));
  // fake runtimes: record argv, then behave like `buildctl dial-stdio` against an echo server (cat)
  for (const tool of ['docker', 'podman', 'kubectl'])
    await writeFile(join(dir, 'bin', tool), `#!/bin/sh\nprintf '%s\\n' "$@" > "$ARGS_FILE"\nexec cat\n`, {
      mode: 0o755,
    });
  env = {
    PATH: `${join(dir, 'bin')}:/usr/bin:/bin`,
    ARGS_FILE: join(dir, 'args'),
    DOCKER_CONFIG: join(dir, 'cfg'),
  };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function echo(target: string, word = 'ping'): Promise<string> {
  const sock: Socket = connect(target.replace(/^unix:/, ''));
  sock.write(word);
  const got = await new Promise<string>((r, j) => {
    sock.once('data', (d: Buffer) => r(d.toString()));
    sock.once('error', j);
  });
  sock.destroy();
  return got;
}

describe('dial', () => {
  it('unix:// and plain tcp:// go straight to grpc-js, insecure', async () => {
    const u = await dial('unix:///run/buildkit/buildkitd.sock');
    expect(u.target).toBe('unix:/run/buildkit/buildkitd.sock');
    expect(u.credentials._isSecure()).toBe(false);
    expect(u.display).toBe('unix:///run/buildkit/buildkitd.sock');
    await u.close();
    const t = await dial('tcp://10.0.0.5:1234');
    expect(t.target).toBe('10.0.0.5:1234');
    expect(t.credentials._isSecure()).toBe(false);
    expect(t.channelOptions).toBeUndefined();
  });

  it('tcp:// with TLS files: secure credentials; server name -> target-name override + authority', async () => {
    const pem = join(dir, 'x.pem');
    await writeFile(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const t = await dial('tcp://bk:1234', { tls: { caCert: pem, serverName: 'buildkit.internal' } });
    expect(t.credentials._isSecure()).toBe(true);
    expect(t.channelOptions).toEqual({
      'grpc.ssl_target_name_override': 'buildkit.internal',
      'grpc.default_authority': 'buildkit.internal',
    });
    expect((await dial('tcp://bk:1', { tls: { caCert: pem } })).channelOptions).toBeUndefined();
  });

  it('TLS misuse is USAGE: unreadable file, cert without key, TLS on a non-tcp scheme', async () => {
    await expect(dial('tcp://bk:1', { tls: { caCert: join(dir, 'none.pem') } })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/cannot read --cacert .*none\.pem: ENOENT/) as unknown,
    });
    await expect(dial('tcp://bk:1', { tls: { cert: 'c.pem' } })).rejects.toThrow(/--cert and --key/);
    await expect(dial('unix:///x.sock', { tls: { caCert: 'ca.pem' } })).rejects.toMatchObject({
      code: 'USAGE',
    });
  });

  it('docker-container://: a private socket piped to `docker exec -i NAME buildctl dial-stdio`', async () => {
    const d = await dial('docker-container://bk?context=ci', { env });
    expect(d.target).toMatch(/^unix:\//);
    expect(d.credentials._isSecure()).toBe(false);
    expect(await echo(d.target)).toBe('ping');
    expect((await readFile(join(dir, 'args'), 'utf8')).trim().split('\n')).toEqual([
      '--context=ci',
      'exec',
      '-i',
      'bk',
      'buildctl',
      'dial-stdio',
    ]);
    const sockDir = dirname(d.target.slice('unix:'.length));
    await d.close();
    await d.close();
    expect(existsSync(sockDir)).toBe(false);
  });

  it('kubepod:// and podman-container:// argv; a failing child is kept as failure()', async () => {
    const k = await dial('kubepod://bk-0?namespace=ci&context=prod', { env });
    expect(await echo(k.target)).toBe('ping');
    expect((await readFile(join(dir, 'args'), 'utf8')).trim().split('\n')).toEqual([
      '--context=prod',
      '--namespace=ci',
      'exec',
      '-i',
      'bk-0',
      '--',
      'buildctl',
      'dial-stdio',
    ]);
    await k.close();
    await writeFile(
      join(dir, 'bin', 'podman'),
      '#!/bin/sh\necho "Error: no container with name bk" >&2\nexit 125\n',
    );
    const p = await dial('podman-container://bk', { env });
    const s = connect(p.target.slice('unix:'.length));
    await new Promise((r) => s.once('close', r));
    expect(p.failure?.()?.message).toMatch(
      /^podman exec -i bk buildctl dial-stdio exited 125: Error: no container/,
    );
    await p.close();
    expect(execArgv(parseAddress('ssh://me@h:2222/run/bk.sock'))).toEqual(
      'ssh -l me -p 2222 -- h buildctl --addr unix:///run/bk.sock dial-stdio'.split(' '),
    );
    expect(execArgv(parseAddress('ssh://h'))).toEqual(['ssh', '--', 'h', 'buildctl', 'dial-stdio']);
    expect(execArgv(parseAddress('nerdctl-container://bk?namespace=k8s.io'))).toEqual([
      'nerdctl',
      '--namespace=k8s.io',
      'exec',
      '-i',
      'bk',
      'buildctl',
      'dial-stdio',
    ]);
  });

  it('buildx://: docker-container node -> buildx_buildkit_<node> on the node endpoint; remote -> its address', async () => {
    const inst = join(dir, 'cfg', 'buildx', 'instances');
    await mkdir(inst, { recursive: true });
    const node = { Name: 'mybuilder0', Endpoint: 'unix:///var/run/docker.sock' };
    await writeFile(join(inst, 'mybuilder'), JSON.stringify({ Driver: 'docker-container', Nodes: [node] }));
    const b = await dial('buildx://', { env: { ...env, BUILDX_BUILDER: 'mybuilder' } });
    expect(b.display).toBe('buildx://');
    expect(await echo(b.target)).toBe('ping');
    expect((await readFile(join(dir, 'args'), 'utf8')).trim().split('\n')).toEqual([
      '--host=unix:///var/run/docker.sock',
      'exec',
      '-i',
      'buildx_buildkit_mybuilder0',
      'buildctl',
      'dial-stdio',
    ]);
    await b.close();
    await writeFile(
      join(inst, 'r'),
      JSON.stringify({ Driver: 'remote', Nodes: [{ Name: 'r0', Endpoint: 'tcp://h:1234' }] }),
    );
    const r = await dial('buildx://r', { env });
    expect(r).toMatchObject({ target: 'h:1234', display: 'buildx://r' });
    await writeFile(join(inst, 'k'), JSON.stringify({ Driver: 'kubernetes', Nodes: [{ Name: 'k0' }] }));
    await expect(dial('buildx://k', { env })).rejects.toThrow(/kubernetes driver, which Copa cannot reach/);
  });
});

describe('autoCandidates', () => {
  const defaultSock = existsSync('/run/buildkit/buildkitd.sock')
    ? ['unix:///run/buildkit/buildkitd.sock']
    : [];

  it('lists the docker socket and the current buildx builder only when they exist, in Copa order', async () => {
    const sock = join(dir, 'docker.sock');
    const cfg = { ...env, DOCKER_HOST: `unix://${sock}` };
    expect(await autoCandidates(cfg)).toEqual(defaultSock);
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      expect((await stat(sock)).isSocket()).toBe(true);
      const buildx = join(dir, 'cfg', 'buildx');
      await mkdir(join(buildx, 'instances'), { recursive: true });
      await writeFile(join(buildx, 'current'), JSON.stringify({ Key: 'x', Name: 'mybuilder' }));
      expect(await autoCandidates(cfg)).toEqual([`docker://${sock}`, ...defaultSock]);
      await writeFile(join(buildx, 'instances', 'mybuilder'), JSON.stringify({ Driver: 'docker-container' }));
      expect(await autoCandidates(cfg)).toEqual([`docker://${sock}`, 'buildx://mybuilder', ...defaultSock]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
