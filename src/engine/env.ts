const BASE_ENV: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
  TERM: 'dumb',
};
const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

/** The environment of commands run over an image: a clean base plus the host's proxy settings. */
export function sandboxEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { ...BASE_ENV };
  for (const k of PROXY_VARS) {
    const v = process.env[k];
    if (v) env[k] = v;
  }
  return { ...env, ...extra };
}
