import { isIP } from 'node:net';

/** A repository on a registry: the part of an image reference the distribution API needs. */
export interface Repo {
  /** as written in references: docker.io, ghcr.io, 127.0.0.1:5000, [::1]:5000 */
  registry: string;
  /** e.g. library/debian */
  repository: string;
}

const DOCKER_HUB_NAMES = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);

/** True for every name that means Docker Hub. */
export function isDockerHub(registry: string): boolean {
  return DOCKER_HUB_NAMES.has(registry.toLowerCase());
}

/** The host[:port] the distribution API lives on (`docker.io` is served by registry-1.docker.io). */
export function apiHost(registry: string): string {
  return isDockerHub(registry) ? 'registry-1.docker.io' : registry;
}

/** Host name without port and without IPv6 brackets: `[::1]:5000` -> `::1`, `a.b:5000` -> `a.b`. */
export function hostName(registry: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(registry);
  if (bracketed?.[1] !== undefined) return bracketed[1].toLowerCase();
  if (isIP(registry) === 6) return registry.toLowerCase();
  return registry.replace(/:\d+$/, '').toLowerCase();
}

/** 127.0.0.0/8, ::1, localhost (and *.localhost): plain HTTP by convention, never proxied. */
export function isLoopback(registry: string): boolean {
  const host = hostName(registry);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * Whether a registry is spoken to over plain HTTP: loopback, or named in `insecureRegistries`
 * (either exactly as `host:port` or by host name alone).
 */
export function usesPlainHttp(registry: string, insecureRegistries: readonly string[] = []): boolean {
  if (isLoopback(registry)) return true;
  const reg = registry.toLowerCase();
  const host = hostName(registry);
  return insecureRegistries.some((entry) => {
    const e = entry
      .toLowerCase()
      .replace(/^https?:\/\//, '')
      .replace(/\/+$/, '');
    return e === reg || e === host;
  });
}

/** Base URL of the registry API, without trailing slash: `http://127.0.0.1:5000`. */
export function baseUrl(registry: string, insecureRegistries: readonly string[] = []): string {
  const scheme = usesPlainHttp(registry, insecureRegistries) ? 'http' : 'https';
  return `${scheme}://${apiHost(registry)}`;
}

/** `registry/repository` for messages. */
export function repoName(repo: Repo): string {
  return `${repo.registry}/${repo.repository}`;
}
