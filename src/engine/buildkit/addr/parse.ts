import { isAbsolute, resolve } from 'node:path';
import { CopaError } from '../../../errors.js';

/**
 * BuildKit addresses as Copa accepts them (COPA-BEHAVIOUR §1.7), parsed without touching anything: the
 * scheme, the socket path / host / container name, and the few query parameters each scheme knows.
 */

/** Where a Docker daemon listens: from the environment / docker context, a socket, TCP, or a named context. */
export type DockerHostSpec =
  | { kind: 'default' }
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'context'; name: string };

export type Address =
  | { scheme: 'unix'; path: string }
  | { scheme: 'tcp'; host: string; port: number }
  | { scheme: 'docker'; docker: DockerHostSpec }
  | { scheme: 'docker-container'; name: string; context?: string }
  | { scheme: 'podman-container'; name: string }
  | { scheme: 'nerdctl-container'; name: string; namespace?: string }
  | { scheme: 'buildx'; builder?: string }
  | { scheme: 'kubepod'; pod: string; namespace?: string; context?: string; container?: string }
  | { scheme: 'ssh'; host: string; user?: string; port?: number; socket?: string };

export const ACCEPTED =
  'unix://PATH, tcp://HOST:PORT, docker://[HOST], docker-container://NAME, podman-container://NAME, ' +
  'nerdctl-container://NAME, buildx://[NAME], kubepod://POD[?namespace=NS&context=CTX], ' +
  'ssh://[USER@]HOST[:PORT][/SOCKET]';

const HINT = `--addr takes one of: ${ACCEPTED}; without --addr Copa auto-detects a BuildKit`;

/** Container, pod and builder names: what the runtimes allow, and never an option (`-x`) or a path. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function usage(addr: string, why: string): CopaError {
  return new CopaError('USAGE', `BuildKit address ${JSON.stringify(addr)}: ${why}`, { hint: HINT });
}

export function checkName(addr: string, what: string, value: string): string {
  if (!NAME_RE.test(value)) throw usage(addr, `invalid ${what} ${JSON.stringify(value)}`);
  return value;
}

/** A value passed as `--flag=value` (kube/docker context names may hold ':' and '/'), but no control chars. */
function checkContext(addr: string, value: string): string {
  // eslint-disable-next-line no-control-regex
  if (value === '' || value.startsWith('-') || /[\x00-\x1f\x7f]/.test(value))
    throw usage(addr, `invalid context ${JSON.stringify(value)}`);
  return value;
}

/** `HOST:PORT` or `[V6]:PORT` -> parts; the port is required. */
export function hostPort(addr: string, text: string): { host: string; port: number } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) throw usage(addr, `expected HOST:PORT, got ${JSON.stringify(text)}`);
  return { host: m[1] ?? '', port };
}

function query(addr: string, text: string | undefined, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (text === undefined) return out;
  for (const [k, v] of new URLSearchParams(text)) {
    if (!allowed.includes(k))
      throw usage(
        addr,
        allowed.length
          ? `unknown parameter ${JSON.stringify(k)} (known: ${allowed.join(', ')})`
          : `takes no parameters`,
      );
    out.set(k, v);
  }
  return out;
}

/** The docker:// part after the scheme: '', /path, unix:///path, tcp://h:p, h:p, or a docker context name. */
export function parseDockerHost(addr: string, rest: string): DockerHostSpec {
  if (rest === '' || rest === '/') return { kind: 'default' };
  if (rest.startsWith('/')) return { kind: 'unix', path: rest };
  if (rest.startsWith('unix://')) {
    const path = rest.slice('unix://'.length);
    if (!path) throw usage(addr, 'empty socket path');
    return { kind: 'unix', path: resolve(path) };
  }
  if (rest.startsWith('tcp://')) return { kind: 'tcp', ...hostPort(addr, rest.slice('tcp://'.length)) };
  if (rest.includes('://')) throw usage(addr, 'the Docker host must be unix:// or tcp://');
  if (rest.includes(':')) return { kind: 'tcp', ...hostPort(addr, rest) };
  return { kind: 'context', name: checkName(addr, 'docker context', rest) };
}

/** Parse an address; throws CopaError('USAGE') naming the accepted schemes. */
export function parseAddress(addr: string): Address {
  const m = /^([a-z][a-z0-9-]*):\/\/(.*)$/s.exec(addr.trim());
  if (!m) throw usage(addr, 'expected SCHEME://…');
  const scheme = m[1] ?? '';
  const whole = m[2] ?? '';
  const q = whole.indexOf('?');
  const body = q < 0 ? whole : whole.slice(0, q);
  const qs = q < 0 ? undefined : whole.slice(q + 1);
  const noQuery = () => query(addr, qs, []);
  switch (scheme) {
    case 'unix': {
      noQuery();
      if (!body) throw usage(addr, 'empty socket path');
      return { scheme, path: isAbsolute(body) ? body : resolve(body) };
    }
    case 'tcp': {
      noQuery();
      return { scheme, ...hostPort(addr, body.replace(/\/$/, '')) };
    }
    case 'docker':
      noQuery();
      return { scheme, docker: parseDockerHost(addr, body) };
    case 'docker-container': {
      const p = query(addr, qs, ['context']);
      const ctx = p.get('context');
      return {
        scheme,
        name: checkName(addr, 'container name', body),
        ...(ctx !== undefined ? { context: checkContext(addr, ctx) } : {}),
      };
    }
    case 'podman-container':
      noQuery();
      return { scheme, name: checkName(addr, 'container name', body) };
    case 'nerdctl-container': {
      const ns = query(addr, qs, ['namespace']).get('namespace');
      return {
        scheme,
        name: checkName(addr, 'container name', body),
        ...(ns !== undefined ? { namespace: checkName(addr, 'namespace', ns) } : {}),
      };
    }
    case 'buildx':
      noQuery();
      return body ? { scheme, builder: checkName(addr, 'builder name', body) } : { scheme };
    case 'kubepod': {
      const p = query(addr, qs, ['namespace', 'context', 'container']);
      const out: Address = { scheme, pod: checkName(addr, 'pod name', body) };
      const ns = p.get('namespace');
      const ctx = p.get('context');
      const c = p.get('container');
      if (ns !== undefined) out.namespace = checkName(addr, 'namespace', ns);
      if (ctx !== undefined) out.context = checkContext(addr, ctx);
      if (c !== undefined) out.container = checkName(addr, 'container name', c);
      return out;
    }
    case 'ssh':
      noQuery();
      return parseSsh(addr, body);
    default:
      throw usage(addr, `unknown scheme ${JSON.stringify(scheme)}`);
  }
}

/**
 * `ssh://[USER@]HOST[:PORT][/SOCKET]`, as BuildKit's ssh helper reads it: ssh runs `buildctl dial-stdio` on
 * HOST (against SOCKET when given). No password in the address; nothing that ssh could take for an option.
 */
function parseSsh(addr: string, body: string): Address {
  const m = /^(?:([^@/:]*)(:[^@/]*)?@)?(\[[0-9A-Fa-f:.]+\]|[^@/:[\]]*)(?::(\d{1,5}))?(\/.*)?$/s.exec(body);
  if (!m) throw usage(addr, 'expected ssh://[USER@]HOST[:PORT][/SOCKET]');
  const [, user, password, rawHost = '', port, socket] = m;
  if (password !== undefined)
    throw usage(
      addr.replace(/:[^@/]*@/, ':***@'),
      'a password in the address is not supported (use an ssh key or agent)',
    );
  const host = rawHost.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw usage(addr, 'no host');
  if (!/^[A-Za-z0-9_.:-]+$/.test(host) || host.startsWith('-'))
    throw usage(addr, `invalid host ${JSON.stringify(host)}`);
  if (user !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(user))
    throw usage(addr, `invalid user ${JSON.stringify(user)}`);
  const n = port === undefined ? undefined : Number(port);
  if (n !== undefined && (n < 1 || n > 65535)) throw usage(addr, `invalid port ${port}`);
  // eslint-disable-next-line no-control-regex
  if (socket !== undefined && (socket === '/' || /[\x00-\x1f\x7f\s]/.test(socket)))
    throw usage(addr, `invalid socket path ${JSON.stringify(socket)}`);
  return {
    scheme: 'ssh',
    host,
    ...(user ? { user } : {}),
    ...(n !== undefined ? { port: n } : {}),
    ...(socket ? { socket } : {}),
  };
}
