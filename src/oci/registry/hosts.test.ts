import { describe, expect, it } from 'vitest';
import { apiHost, baseUrl, hostName, isLoopback, usesPlainHttp } from './hosts.js';

describe('hosts', () => {
  it('maps Docker Hub to its API host', () => {
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('index.docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('ghcr.io')).toBe('ghcr.io');
  });

  it.each([
    ['127.0.0.1:5000', '127.0.0.1'],
    ['[::1]:5000', '::1'],
    ['::1', '::1'],
    ['Registry.Example.com:443', 'registry.example.com'],
    ['localhost', 'localhost'],
  ])('hostName(%s) = %s', (reg, want) => expect(hostName(reg)).toBe(want));

  it.each([
    ['127.0.0.1:5000', true],
    ['127.8.9.10', true],
    ['localhost:5000', true],
    ['registry.localhost', true],
    ['[::1]:5000', true],
    ['128.0.0.1', false],
    ['10.0.0.1:5000', false],
    ['ghcr.io', false],
    ['127.0.0.1.nip.io', false],
  ])('isLoopback(%s) = %s', (reg, want) => expect(isLoopback(reg)).toBe(want));

  it('uses plain HTTP for loopback and named insecure registries only', () => {
    expect(usesPlainHttp('127.0.0.1:5000')).toBe(true);
    expect(usesPlainHttp('reg.local:5000', ['reg.local:5000'])).toBe(true);
    expect(usesPlainHttp('reg.local:5000', ['reg.local'])).toBe(true);
    expect(usesPlainHttp('reg.local:5000', ['http://reg.local:5000/'])).toBe(true);
    expect(usesPlainHttp('reg.local:5000', ['other.local'])).toBe(false);
    expect(usesPlainHttp('reg.local')).toBe(false);
    expect(baseUrl('docker.io')).toBe('https://registry-1.docker.io');
    expect(baseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(baseUrl('ghcr.io', ['ghcr.io'])).toBe('http://ghcr.io');
  });
});
