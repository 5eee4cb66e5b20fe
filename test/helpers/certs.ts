import { run } from './exec.js';

/**
 * A throw-away RSA key and self-signed certificate made with the real openssl: `key` and `cert` are written
 * as given; `san` adds a subjectAltName (e.g. `IP:127.0.0.1`).
 */
export async function selfSigned(opts: {
  key: string;
  cert: string;
  cn: string;
  days?: number;
  san?: string;
  cwd?: string;
}): Promise<{ key: string; cert: string }> {
  await run(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', String(opts.days ?? 2)],
      ...['-subj', `/CN=${opts.cn}`, '-keyout', opts.key, '-out', opts.cert],
      ...(opts.san ? ['-addext', `subjectAltName=${opts.san}`] : []),
    ],
    opts.cwd ? { cwd: opts.cwd } : {},
  );
  return { key: opts.key, cert: opts.cert };
}
