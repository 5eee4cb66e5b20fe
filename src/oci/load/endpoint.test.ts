import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerEndpoint, parseDockerHost } from './endpoint.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'copa-endpoint-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function context(config: string, name: string, host: string | undefined): Promise<void> {
  const meta = join(config, 'contexts/meta', createHash('sha256').update(name).digest('hex'));
  await mkdir(meta, { recursive: true });
  await writeFile(
    join(meta, 'meta.json'),
    JSON.stringify({ Name: name, Endpoints: host ? { docker: { Host: host } } : {} }),
  );
}

describe('docker endpoint', () => {
  it('parses unix:// hosts and refuses the others clearly', () => {
    expect(parseDockerHost('unix:///var/run/docker.sock', 'x').socketPath).toBe('/var/run/docker.sock');
    expect(parseDockerHost('unix://relative.sock', 'x').socketPath).toBe('relative.sock');
    expect(() => parseDockerHost('tcp://127.0.0.1:2375', 'DOCKER_HOST')).toThrow(
      /uses tcp:\/\/, which copa cannot load into yet/,
    );
    expect(() => parseDockerHost('ssh://me@host', 'DOCKER_HOST')).toThrow(/ssh:\/\//);
    expect(() => parseDockerHost('/var/run/docker.sock', 'DOCKER_HOST')).toThrow(/not a unix:\/\/ address/);
  });

  it('DOCKER_HOST wins; without it the default socket', async () => {
    expect(await dockerEndpoint({ DOCKER_HOST: 'unix:///tmp/d.sock', DOCKER_CONTEXT: 'nope' })).toEqual({
      socketPath: '/tmp/d.sock',
      source: 'DOCKER_HOST',
    });
    expect(await dockerEndpoint({ DOCKER_CONFIG: join(dir, 'empty') })).toEqual({
      socketPath: '/var/run/docker.sock',
      source: 'default',
    });
  });

  it('follows DOCKER_CONTEXT, else config.json currentContext, to the context meta.json', async () => {
    const config = join(dir, 'cfg');
    await context(config, 'rootless', 'unix:///run/user/1000/docker.sock');
    await context(config, 'other', 'unix:///tmp/other.sock');
    await writeFile(join(config, 'config.json'), JSON.stringify({ currentContext: 'rootless', auths: {} }));
    expect((await dockerEndpoint({ DOCKER_CONFIG: config })).socketPath).toBe('/run/user/1000/docker.sock');
    expect(await dockerEndpoint({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'other' })).toEqual({
      socketPath: '/tmp/other.sock',
      source: 'docker context other',
    });
    expect((await dockerEndpoint({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'default' })).source).toBe(
      'default',
    );
  });

  it('a missing context, a context without a docker endpoint and a broken config.json are clear errors', async () => {
    const config = join(dir, 'cfg2');
    await context(config, 'empty', undefined);
    await expect(dockerEndpoint({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'gone' })).rejects.toThrow(
      /docker context "gone" does not exist/,
    );
    await expect(dockerEndpoint({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'empty' })).rejects.toThrow(
      /has no docker endpoint/,
    );
    await writeFile(join(config, 'config.json'), '{ not json');
    await expect(dockerEndpoint({ DOCKER_CONFIG: config })).rejects.toThrow(/config.json is not valid JSON/);
  });
});
