/**
 * Package indexes for library patching. Precedence: a flag, then the same setting in the host's
 * environment, then the image's own configuration (pip.conf, .npmrc, ENV GOPROXY), which the tools read
 * themselves when we set nothing.
 */
import type { PackageIndexes } from '../types.js';

export interface IndexFlags {
  pipIndexUrl?: string | undefined;
  npmRegistry?: string | undefined;
  goproxy?: string | undefined;
}

const GO_VARS = ['GOPRIVATE', 'GONOSUMDB', 'GONOPROXY', 'GOSUMDB', 'GOINSECURE', 'GONOSUMCHECK'] as const;

function first(...values: Array<string | undefined>): string | undefined {
  return values.find((v) => v !== undefined && v.trim() !== '')?.trim();
}

export function resolveIndexes(flags: IndexFlags, env: NodeJS.ProcessEnv = process.env): PackageIndexes {
  const goEnv: Record<string, string> = {};
  for (const k of GO_VARS) {
    const v = env[k];
    if (v) goEnv[k] = v;
  }
  return {
    pipIndexUrl: first(flags.pipIndexUrl, env.PIP_INDEX_URL),
    npmRegistry: first(flags.npmRegistry, env.NPM_CONFIG_REGISTRY, env.npm_config_registry),
    goproxy: first(flags.goproxy, env.GOPROXY),
    goEnv,
  };
}

/** The env variables that hand these indexes to pip, npm and go (only the ones that are set). */
export function indexEnv(ix: PackageIndexes): Record<string, string> {
  const out: Record<string, string> = { ...(ix.goEnv ?? {}) };
  if (ix.pipIndexUrl) out.PIP_INDEX_URL = ix.pipIndexUrl;
  if (ix.npmRegistry) out.npm_config_registry = ix.npmRegistry;
  if (ix.goproxy) out.GOPROXY = ix.goproxy;
  return out;
}

/** A URL as it may be printed: user info replaced (index URLs often carry tokens). */
export function redactUrl(url: string): string {
  return url.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@');
}

/** Remove every credential-bearing URL of a text (tool output quoted in an error message). */
export function redactText(text: string, ix: PackageIndexes): string {
  let out = redactUrl(text);
  for (const u of [ix.pipIndexUrl, ix.npmRegistry, ix.goproxy]) {
    if (u && u !== redactUrl(u)) out = out.split(u).join(redactUrl(u));
  }
  return out;
}
