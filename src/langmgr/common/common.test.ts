import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCaBundle, caEnv, CA_TARGET } from './ca.js';
import { indexEnv, redactText, redactUrl, resolveIndexes } from './indexes.js';

const PEM = (n: number) => `-----BEGIN CERTIFICATE-----\nMIIB${n}\n-----END CERTIFICATE-----\n`;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'copa-ca-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('package indexes', () => {
  it('flag first, then the host env, else nothing (the image config applies)', () => {
    const env = {
      PIP_INDEX_URL: 'http://127.0.0.1:1/env',
      GOPROXY: 'http://127.0.0.1:2',
      GOPRIVATE: 'corp.test/*',
    };
    const ix = resolveIndexes({ pipIndexUrl: 'http://127.0.0.1:1/flag' }, env);
    expect(ix.pipIndexUrl).toBe('http://127.0.0.1:1/flag');
    expect(ix.goproxy).toBe('http://127.0.0.1:2');
    expect(ix.npmRegistry).toBeUndefined();
    expect(indexEnv(ix)).toEqual({
      PIP_INDEX_URL: 'http://127.0.0.1:1/flag',
      GOPROXY: 'http://127.0.0.1:2',
      GOPRIVATE: 'corp.test/*',
    });
    expect(indexEnv(resolveIndexes({}, {}))).toEqual({});
  });

  it('credentials in index URLs are never printed', () => {
    expect(redactUrl('https://user:s3cret@127.0.0.1:8443/simple')).toBe('https://***@127.0.0.1:8443/simple');
    expect(redactUrl('http://127.0.0.1/simple')).toBe('http://127.0.0.1/simple');
    const ix = resolveIndexes({ npmRegistry: 'https://tok@127.0.0.1/npm/' }, {});
    expect(redactText('GET https://tok@127.0.0.1/npm/x failed', ix)).not.toContain('tok@');
  });
});

describe('CA bundle for the tools', () => {
  it('joins --ca-certs with the host bundles, once each', async () => {
    const extra = join(dir, 'corp.pem');
    const host = join(dir, 'host.pem');
    await writeFile(extra, PEM(1));
    await writeFile(host, PEM(2));
    const out = await buildCaBundle(dir, extra, { SSL_CERT_FILE: host, PIP_CERT: host });
    const text = await readFile(out ?? '', 'utf8');
    expect(text).toContain('MIIB1');
    expect(text.match(/MIIB2/g)).toHaveLength(1);
  });
  it('a missing --ca-certs file is a usage error', async () => {
    await expect(buildCaBundle(dir, join(dir, 'nope.pem'), {})).rejects.toThrow(/does not exist/);
  });
  it('every tool is pointed at the bundle inside the run-time tmpfs', () => {
    const env = caEnv();
    expect(CA_TARGET.startsWith('/run/')).toBe(true);
    for (const k of ['SSL_CERT_FILE', 'PIP_CERT', 'NODE_EXTRA_CA_CERTS', 'npm_config_cafile']) {
      expect(env[k]).toBe(CA_TARGET);
    }
  });
});
