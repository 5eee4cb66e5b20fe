import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildxNode, builderExists, currentBuilder } from './buildx.js';
import { currentDockerContext, resolveDockerHost } from './docker-host.js';

/** Docker contexts and buildx instance files, as the docker CLI and buildx write them, in a tmp DOCKER_CONFIG. */

let cfg = '';
let env: NodeJS.ProcessEnv = {};

beforeEach(async () => {
  cfg = await mkdtemp(join(tmpdir(), 'copa-addr-cfg-'));
  env = { DOCKER_CONFIG: cfg, HOME: '/nonexistent' };
});
afterEach(async () => {
  await rm(cfg, { recursive: true, force: true });
});

async function context(name: string, host: string, tls = false): Promise<void> {
  const id = createHash('sha256').update(name).digest('hex');
  await mkdir(join(cfg, 'contexts', 'meta', id), { recursive: true });
  await writeFile(
    join(cfg, 'contexts', 'meta', id, 'meta.json'),
    JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }),
  );
  if (tls) {
    await mkdir(join(cfg, 'contexts', 'tls', id, 'docker'), { recursive: true });
    await writeFile(join(cfg, 'contexts', 'tls', id, 'docker', 'ca.pem'), 'CA');
  }
}

async function instance(name: string, body: unknown): Promise<void> {
  await mkdir(join(cfg, 'buildx', 'instances'), { recursive: true });
  await writeFile(join(cfg, 'buildx', 'instances', name), JSON.stringify(body));
}

describe('docker host resolution', () => {
  it('no DOCKER_HOST, no context: /var/run/docker.sock', async () => {
    expect(await resolveDockerHost({ kind: 'default' }, env)).toMatchObject({
      kind: 'unix',
      path: '/var/run/docker.sock',
    });
  });

  it('DOCKER_HOST wins over the context; tcp gets TLS from DOCKER_CERT_PATH with DOCKER_TLS_VERIFY', async () => {
    await context('remote', 'unix:///ctx.sock');
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ currentContext: 'remote' }));
    expect(
      await resolveDockerHost({ kind: 'default' }, { ...env, DOCKER_HOST: 'unix:///env.sock' }),
    ).toMatchObject({ kind: 'unix', path: '/env.sock' });
    await writeFile(join(cfg, 'ca.pem'), 'CA');
    const tcp = await resolveDockerHost(
      { kind: 'default' },
      { ...env, DOCKER_HOST: 'tcp://d.example', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: cfg },
    );
    expect(tcp).toMatchObject({ kind: 'tcp', host: 'd.example', port: 2376 });
    expect(tcp.kind === 'tcp' && tcp.tls?.ca?.toString()).toBe('CA');
    expect(
      await resolveDockerHost({ kind: 'default' }, { ...env, DOCKER_HOST: 'tcp://d.example' }),
    ).toMatchObject({ kind: 'tcp', port: 2375 });
  });

  it('current context from config.json, DOCKER_CONTEXT over it, context TLS files', async () => {
    await context('remote', 'unix:///ctx.sock');
    await context('other', 'tcp://10.1.2.3:2376', true);
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ currentContext: 'remote' }));
    expect(await currentDockerContext(env)).toBe('remote');
    expect(await resolveDockerHost({ kind: 'default' }, env)).toMatchObject({ path: '/ctx.sock' });
    const other = await resolveDockerHost({ kind: 'default' }, { ...env, DOCKER_CONTEXT: 'other' });
    expect(other).toMatchObject({ kind: 'tcp', host: '10.1.2.3', port: 2376 });
    expect(other.kind === 'tcp' && other.tls?.ca?.toString()).toBe('CA');
    expect(await resolveDockerHost({ kind: 'context', name: 'remote' }, env)).toMatchObject({ kind: 'unix' });
  });

  it('a missing context and an ssh:// host are errors, not guesses', async () => {
    await expect(resolveDockerHost({ kind: 'context', name: 'nope' }, env)).rejects.toMatchObject({
      code: 'ENVIRONMENT',
    });
    await expect(
      resolveDockerHost({ kind: 'default' }, { ...env, DOCKER_HOST: 'ssh://me@h' }),
    ).rejects.toThrow(/not supported here/);
  });
});

describe('buildx instance files', () => {
  const node = { Name: 'mybuilder0', Endpoint: 'unix:///var/run/docker.sock', DriverOpts: { image: 'x' } };

  it('current builder: BUILDX_BUILDER, else the current file (either key case), else none', async () => {
    expect(await currentBuilder(env)).toBeUndefined();
    await mkdir(join(cfg, 'buildx'), { recursive: true });
    await writeFile(
      join(cfg, 'buildx', 'current'),
      JSON.stringify({ Key: 'k', Name: 'mybuilder', Global: false }),
    );
    expect(await currentBuilder(env)).toBe('mybuilder');
    await writeFile(join(cfg, 'buildx', 'current'), JSON.stringify({ name: 'lower' }));
    expect(await currentBuilder(env)).toBe('lower');
    expect(await currentBuilder({ ...env, BUILDX_BUILDER: 'fromenv' })).toBe('fromenv');
  });

  it('reads the first node of the named or current builder', async () => {
    await instance('mybuilder', {
      Name: 'mybuilder',
      Driver: 'docker-container',
      Nodes: [node, { Name: 'n2' }],
    });
    expect(await builderExists('mybuilder', env)).toBe(true);
    expect(await builderExists('other', env)).toBe(false);
    expect(await buildxNode('mybuilder', env)).toEqual({
      builder: 'mybuilder',
      driver: 'docker-container',
      node: 'mybuilder0',
      endpoint: 'unix:///var/run/docker.sock',
      driverOpts: { image: 'x' },
    });
    expect((await buildxNode(undefined, { ...env, BUILDX_BUILDER: 'mybuilder' })).node).toBe('mybuilder0');
  });

  it('no builder selected, unknown builder, no nodes, hostile name: clear errors', async () => {
    await expect(buildxNode(undefined, env)).rejects.toThrow(/no buildx builder selected/);
    await expect(buildxNode('ghost', env)).rejects.toThrow(/"ghost" not found/);
    await instance('empty', { Name: 'empty', Driver: 'docker-container', Nodes: [] });
    await expect(buildxNode('empty', env)).rejects.toThrow(/has no nodes/);
    await expect(buildxNode('../../etc/passwd', env)).rejects.toMatchObject({ code: 'USAGE' });
    await mkdir(join(cfg, 'buildx', 'instances'), { recursive: true });
    await writeFile(join(cfg, 'buildx', 'instances', 'broken'), '{');
    await expect(buildxNode('broken', env)).rejects.toThrow(/not JSON/);
  });
});
