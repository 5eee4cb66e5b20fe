import { describe, expect, it } from 'vitest';
import { networkError, selfHosted, statusError, summarizeErrorBody } from './errors.js';

describe('registry error mapping', () => {
  it('summarizes distribution error bodies and other text', () => {
    expect(
      summarizeErrorBody('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}'),
    ).toBe('MANIFEST_UNKNOWN: manifest unknown');
    expect(summarizeErrorBody('<html>\n  <body>Bad gateway</body></html>')).toBe(
      '<html> <body>Bad gateway</body></html>',
    );
    expect(summarizeErrorBody('')).toBe('');
    expect(summarizeErrorBody('x'.repeat(500)).length).toBeLessThanOrEqual(201);
  });

  it.each([
    [401, 'AUTH'],
    [403, 'AUTH'],
    [404, 'NOT_FOUND'],
    [429, 'REGISTRY'],
    [400, 'REGISTRY'],
    [500, 'REGISTRY'],
  ])('status %i -> %s', (status, code) => {
    const err = statusError({
      registry: 'r.example:5000',
      what: 'fetching manifest r.example:5000/a:1',
      status,
      body: '',
    });
    expect(err.code).toBe(code);
    expect(err.message).toContain('fetching manifest r.example:5000/a:1');
    expect(err.hint).toBeTruthy();
  });

  it('tells the user how to log in on AUTH', () => {
    const err = statusError({ registry: 'ghcr.io', what: 'x', status: 401, body: '' });
    expect(err.hint).toContain('docker login ghcr.io');
  });

  it('maps connection failures to NETWORK with the address, and TLS failures with a TLS hint', () => {
    const refused = networkError(
      '127.0.0.1:1',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      (s) => s,
    );
    expect(refused.code).toBe('NETWORK');
    expect(refused.message).toBe('registry 127.0.0.1:1 unreachable: connect ECONNREFUSED 127.0.0.1:1');
    expect(refused.hint).toContain('--insecure-registry 127.0.0.1:1');
    const tls = networkError(
      'reg.local',
      Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      (s) => s,
    );
    expect(tls.message).toContain('TLS connection failed');
    expect(tls.hint).toContain('NODE_EXTRA_CA_CERTS');
  });

  it('a registry that stopped answering: the hint names COPA_REGISTRY_TIMEOUT', () => {
    for (const code of ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']) {
      const err = networkError(
        'reg.local:5000',
        Object.assign(new Error('Headers Timeout Error'), { code }),
        (s) => s,
      );
      expect(err.code).toBe('NETWORK');
      expect(err.message).toMatch(/^registry reg.local:5000 stopped answering: Headers Timeout Error/);
      expect(err.hint).toContain('COPA_REGISTRY_TIMEOUT');
    }
  });

  it('suggests --insecure-registry only for a self-hosted registry, never for docker.io', () => {
    const offline = networkError(
      'docker.io',
      Object.assign(new Error('getaddrinfo ENOTFOUND registry-1.docker.io'), { code: 'ENOTFOUND' }),
      (s) => s,
    );
    expect(offline.hint).not.toContain('--insecure-registry');
    expect(offline.hint).toMatch(/network connection.*air-gapped/);
    expect(selfHosted('docker.io')).toBe(false);
    expect(selfHosted('ghcr.io')).toBe(false);
    expect(selfHosted('registry.example.com:5000')).toBe(true);
    expect(selfHosted('localhost')).toBe(true);
    expect(selfHosted('10.0.0.7')).toBe(true);
    expect(selfHosted('registry')).toBe(true);
  });

  it('keeps only a redacted copy of the cause', () => {
    const err = networkError('r', new Error('proxy http://u:pw@p:3128 refused'), (s) =>
      s.replace('pw', '***'),
    );
    expect(String((err.cause as Error).message)).not.toContain('pw@');
  });
});
