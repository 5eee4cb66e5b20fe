import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CopaError } from '../../../errors.js';
import { parseAddress } from './parse.js';

function usage(addr: string): CopaError {
  try {
    parseAddress(addr);
  } catch (e) {
    expect(e).toBeInstanceOf(CopaError);
    return e as CopaError;
  }
  throw new Error(`${addr} parsed`);
}

describe('parseAddress', () => {
  it('unix:// absolute and relative paths', () => {
    expect(parseAddress('unix:///run/buildkit/buildkitd.sock')).toEqual({
      scheme: 'unix',
      path: '/run/buildkit/buildkitd.sock',
    });
    expect(parseAddress('unix://bk.sock')).toEqual({ scheme: 'unix', path: resolve('bk.sock') });
  });

  it('tcp:// host:port, IPv6, trailing slash', () => {
    expect(parseAddress('tcp://buildkit.example:1234')).toEqual({
      scheme: 'tcp',
      host: 'buildkit.example',
      port: 1234,
    });
    expect(parseAddress('tcp://[::1]:1234/')).toEqual({ scheme: 'tcp', host: '[::1]', port: 1234 });
    expect(parseAddress('tcp://10.0.0.1:1')).toEqual({ scheme: 'tcp', host: '10.0.0.1', port: 1 });
  });

  it('docker:// forms: default, socket path, nested unix/tcp, host:port, context name', () => {
    expect(parseAddress('docker://')).toEqual({ scheme: 'docker', docker: { kind: 'default' } });
    expect(parseAddress('docker:///var/run/docker.sock')).toEqual({
      scheme: 'docker',
      docker: { kind: 'unix', path: '/var/run/docker.sock' },
    });
    expect(parseAddress('docker://unix:///x/d.sock').scheme).toBe('docker');
    expect(parseAddress('docker://tcp://h:2375')).toEqual({
      scheme: 'docker',
      docker: { kind: 'tcp', host: 'h', port: 2375 },
    });
    expect(parseAddress('docker://h:2376')).toEqual({
      scheme: 'docker',
      docker: { kind: 'tcp', host: 'h', port: 2376 },
    });
    expect(parseAddress('docker://desktop-linux')).toEqual({
      scheme: 'docker',
      docker: { kind: 'context', name: 'desktop-linux' },
    });
  });

  it('container schemes with their parameters', () => {
    expect(parseAddress('docker-container://buildkitd')).toEqual({
      scheme: 'docker-container',
      name: 'buildkitd',
    });
    expect(parseAddress('docker-container://bk_1.a-b?context=arn:aws:x/y')).toEqual({
      scheme: 'docker-container',
      name: 'bk_1.a-b',
      context: 'arn:aws:x/y',
    });
    expect(parseAddress('podman-container://bk')).toEqual({ scheme: 'podman-container', name: 'bk' });
    expect(parseAddress('nerdctl-container://bk?namespace=k8s.io')).toEqual({
      scheme: 'nerdctl-container',
      name: 'bk',
      namespace: 'k8s.io',
    });
  });

  it('buildx:// with and without a builder', () => {
    expect(parseAddress('buildx://')).toEqual({ scheme: 'buildx' });
    expect(parseAddress('buildx://mybuilder')).toEqual({ scheme: 'buildx', builder: 'mybuilder' });
  });

  it('kubepod:// with namespace, context, container', () => {
    expect(parseAddress('kubepod://buildkitd-0?namespace=ci&context=prod&container=bk')).toEqual({
      scheme: 'kubepod',
      pod: 'buildkitd-0',
      namespace: 'ci',
      context: 'prod',
      container: 'bk',
    });
    expect(parseAddress('kubepod://p')).toEqual({ scheme: 'kubepod', pod: 'p' });
  });

  it('unknown scheme and malformed input: USAGE naming the accepted schemes, one line', () => {
    for (const bad of [
      'http://x:1',
      'buildkitd.sock',
      '/run/buildkit/buildkitd.sock',
      '',
      'unix://',
      'tcp://host',
      'tcp://host:0',
      'tcp://host:70000',
      'tcp://host:12/path',
      'tcp://a b:1',
      'unix:///x?y=1',
    ]) {
      const e = usage(bad);
      expect(e.code).toBe('USAGE');
      expect(e.message).not.toContain('\n');
      expect(e.hint).toContain('unix://PATH');
      expect(e.hint).toContain('kubepod://POD');
    }
    expect(usage('http://x:1').message).toContain('unknown scheme "http"');
  });

  it('names that are options, paths or shell text are refused', () => {
    for (const bad of [
      'docker-container://-it',
      'docker-container://a;rm',
      'docker-container://a/b',
      'docker-container://',
      'podman-container://$(id)',
      'nerdctl-container://a b',
      'nerdctl-container://bk?namespace=-x',
      'buildx://../x',
      'kubepod://-n',
      'kubepod://p?namespace=a/b',
      'kubepod://p?context=--kubeconfig=/x',
      'kubepod://p?container=-c',
      'kubepod://p?bogus=1',
      'docker-container://bk?namespace=x',
      'docker://a/b',
      'docker://ssh://me@host',
    ])
      expect(usage(bad).code).toBe('USAGE');
  });

  it('ssh://[USER@]HOST[:PORT][/SOCKET] as BuildKit reads it', () => {
    expect(parseAddress('ssh://host')).toEqual({ scheme: 'ssh', host: 'host' });
    expect(parseAddress('ssh://me@build.example:2222/run/buildkit/buildkitd.sock')).toEqual({
      scheme: 'ssh',
      host: 'build.example',
      user: 'me',
      port: 2222,
      socket: '/run/buildkit/buildkitd.sock',
    });
    expect(parseAddress('ssh://[::1]:22')).toEqual({ scheme: 'ssh', host: '::1', port: 22 });
  });

  it('ssh:// refuses a password, an option-looking host or user, a query and a bad port, one line each', () => {
    for (const bad of [
      'ssh://me:secret@host',
      'ssh://-oProxyCommand=x',
      'ssh://-x@host',
      'ssh://',
      'ssh://me@',
      'ssh://host:0',
      'ssh://host:99999',
      'ssh://host?x=1',
      'ssh://host/',
      'ssh://ho st',
    ]) {
      const e = usage(bad);
      expect(e.code, bad).toBe('USAGE');
      expect(e.message).not.toContain('\n');
      expect(e.message).not.toContain('secret@');
    }
  });
});
