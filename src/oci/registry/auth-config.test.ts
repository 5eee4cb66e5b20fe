import { describe, expect, it } from 'vitest';
import {
  AuthFileSchema,
  credentialFromHelper,
  decodeAuthEntry,
  findAuthEntry,
  findHelper,
  helperServerUrl,
  isValidHelperName,
  normalizeAuthKey,
} from './auth-config.js';
import { authFilePaths } from './credentials.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('normalizeAuthKey', () => {
  it.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['https://ghcr.io', 'ghcr.io'],
    ['http://127.0.0.1:5000/v2/', '127.0.0.1:5000'],
    ['Quay.IO', 'quay.io'],
    ['registry.example.com:8443/some/path', 'registry.example.com:8443'],
  ])('%s -> %s', (key, want) => expect(normalizeAuthKey(key)).toBe(want));
});

describe('docker config lookup', () => {
  const file = AuthFileSchema.parse({
    auths: {
      'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
      'ghcr.io': { username: 'gh', password: 'ghpass' },
      'registry.example.com': { identitytoken: 'refresh-me' },
      'empty.example.com': {},
      'tok.example.com': { registrytoken: 'bearer-token' },
    },
    credHelpers: { 'gcr.io': 'gcloud', 'https://index.docker.io/v1/': '' },
    credsStore: 'desktop',
  });

  it('finds Docker Hub credentials under any of its names', () => {
    for (const name of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) {
      // the password may contain ':' — only the first one separates the user
      expect(decodeAuthEntry(findAuthEntry(file, name)!)).toEqual({
        username: 'hubuser',
        password: 'hub:pass',
        identityToken: undefined,
        registryToken: undefined,
      });
    }
  });

  it('reads username/password, identity tokens and registry tokens', () => {
    expect(decodeAuthEntry(findAuthEntry(file, 'ghcr.io')!)).toMatchObject({
      username: 'gh',
      password: 'ghpass',
    });
    expect(decodeAuthEntry(findAuthEntry(file, 'registry.example.com')!)).toMatchObject({
      identityToken: 'refresh-me',
    });
    expect(decodeAuthEntry(findAuthEntry(file, 'tok.example.com')!)).toMatchObject({
      registryToken: 'bearer-token',
    });
    expect(decodeAuthEntry(findAuthEntry(file, 'empty.example.com')!)).toBeUndefined();
    expect(findAuthEntry(file, 'other.example.com')).toBeUndefined();
  });

  it('picks credHelpers first, then credsStore', () => {
    expect(findHelper(file, 'gcr.io')).toBe('gcloud');
    expect(findHelper(file, 'ghcr.io')).toBe('desktop');
    // an empty credHelpers entry does not count
    expect(findHelper(file, 'docker.io')).toBe('desktop');
    expect(findHelper(AuthFileSchema.parse({ auths: {} }), 'ghcr.io')).toBeUndefined();
  });

  it('speaks the helper protocol', () => {
    expect(helperServerUrl('docker.io')).toBe('https://index.docker.io/v1/');
    expect(helperServerUrl('127.0.0.1:5000')).toBe('127.0.0.1:5000');
    expect(credentialFromHelper({ Username: 'u', Secret: 's' })).toEqual({ username: 'u', password: 's' });
    expect(credentialFromHelper({ Username: '<token>', Secret: 'refresh' })).toEqual({
      identityToken: 'refresh',
    });
    expect(credentialFromHelper({ Username: 'u', Secret: '' })).toBeUndefined();
  });

  it('accepts only plain helper names', () => {
    expect(isValidHelperName('ecr-login')).toBe(true);
    expect(isValidHelperName('desktop.exe')).toBe(true);
    expect(isValidHelperName('../evil')).toBe(false);
    expect(isValidHelperName('a/b')).toBe(false);
    expect(isValidHelperName('')).toBe(false);
  });

  it('rejects a malformed auth file through the schema', () => {
    expect(AuthFileSchema.safeParse({ auths: { x: { auth: 5 } } }).success).toBe(false);
  });
});

describe('authFilePaths', () => {
  it('orders REGISTRY_AUTH_FILE, docker config, podman defaults', () => {
    expect(
      authFilePaths({
        HOME: '/h',
        REGISTRY_AUTH_FILE: '/p/auth.json',
        DOCKER_CONFIG: '/d',
        XDG_RUNTIME_DIR: '/run/user/1',
      }),
    ).toEqual([
      '/p/auth.json',
      '/d/config.json',
      '/run/user/1/containers/auth.json',
      '/h/.config/containers/auth.json',
    ]);
    expect(authFilePaths({ HOME: '/h' })).toEqual([
      '/h/.docker/config.json',
      '/h/.config/containers/auth.json',
    ]);
  });
});
