/**
 * Certificate authorities for library downloads. Behind an intercepting proxy the proxy's CA is only in the
 * host's bundle; the image's own bundle does not know it. We write one PEM file for the run (the host's
 * system bundle + any extra CA files), bind it read-only into the tmpfs `/run` of whichever root runs the
 * tool, and point pip, npm, node, go and git at it. `/run` is a tmpfs: nothing of it reaches the layer.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CopaError } from '../../errors.js';

/** where the bundle appears inside a root */
export const CA_TARGET = '/run/copa-ca.pem';
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/cert.pem',
];

/**
 * Build the run's bundle in `workDir`: `--ca-certs FILE` (if given) plus the host's SSL_CERT_FILE,
 * NODE_EXTRA_CA_CERTS, PIP_CERT and system bundle. Undefined when there is nothing to add.
 */
export async function buildCaBundle(
  workDir: string,
  caCerts: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  if (caCerts !== undefined && !existsSync(caCerts)) {
    throw new CopaError('USAGE', `--ca-certs ${caCerts} does not exist`, {
      hint: 'pass a PEM file with the CA certificates your package indexes need',
    });
  }
  const files = [caCerts, env.SSL_CERT_FILE, env.NODE_EXTRA_CA_CERTS, env.PIP_CERT, ...SYSTEM_BUNDLES];
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const f of files) {
    if (!f || seen.has(f) || !existsSync(f)) continue;
    seen.add(f);
    const pem = await readFile(f, 'utf8').catch(() => '');
    if (pem.includes('-----BEGIN CERTIFICATE-----')) parts.push(pem.trim());
  }
  if (parts.length === 0) return undefined;
  const out = join(workDir, 'ca-bundle.pem');
  await writeFile(out, parts.join('\n') + '\n', { mode: 0o644 });
  return out;
}

/** The variables that make pip, requests, npm, node, go and git trust the bundle at CA_TARGET. */
export function caEnv(): Record<string, string> {
  return {
    SSL_CERT_FILE: CA_TARGET,
    PIP_CERT: CA_TARGET,
    REQUESTS_CA_BUNDLE: CA_TARGET,
    NODE_EXTRA_CA_CERTS: CA_TARGET,
    npm_config_cafile: CA_TARGET,
    GIT_SSL_CAINFO: CA_TARGET,
  };
}
