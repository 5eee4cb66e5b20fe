import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CopaError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { parseJson } from '../schemas.js';
import {
  AuthFileSchema,
  credentialFromHelper,
  decodeAuthEntry,
  findAuthEntry,
  findHelper,
  helperServerUrl,
  HelperOutputSchema,
  isValidHelperName,
  type AuthFile,
  type Credential,
  type CredentialProvider,
} from './auth-config.js';
import { redact } from './redact.js';

export type { Credential, CredentialProvider } from './auth-config.js';

export interface DockerConfigOptions {
  /** environment to read DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, HOME and PATH from */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** time limit for one credential helper call (default 30 s) */
  helperTimeoutMs?: number;
}

/** The auth files consulted, in order: podman's explicit file, docker's config, podman's default files. */
export function authFilePaths(env: NodeJS.ProcessEnv): string[] {
  const home = env['HOME'] ?? homedir();
  const paths: string[] = [];
  if (env['REGISTRY_AUTH_FILE']) paths.push(env['REGISTRY_AUTH_FILE']);
  paths.push(join(env['DOCKER_CONFIG'] || join(home, '.docker'), 'config.json'));
  if (env['XDG_RUNTIME_DIR']) paths.push(join(env['XDG_RUNTIME_DIR'], 'containers', 'auth.json'));
  paths.push(join(home, '.config', 'containers', 'auth.json'));
  return paths;
}

/**
 * Credentials the way docker and podman find them: for each auth file (see authFilePaths) the
 * registry's credential helper (`credHelpers`, then `credsStore`), then its `auths` entry. The first
 * hit wins. Results are cached per registry for the life of the provider.
 */
export class DockerConfigCredentials implements CredentialProvider {
  private readonly env: NodeJS.ProcessEnv;
  private readonly logger: Logger;
  private readonly helperTimeoutMs: number;
  private readonly cache = new Map<string, Promise<Credential | undefined>>();

  constructor(opts: DockerConfigOptions = {}) {
    this.env = opts.env ?? process.env;
    this.logger = opts.logger ?? silentLogger;
    this.helperTimeoutMs = opts.helperTimeoutMs ?? 30_000;
  }

  get(registry: string): Promise<Credential | undefined> {
    let hit = this.cache.get(registry);
    if (!hit) {
      hit = this.lookup(registry);
      this.cache.set(registry, hit);
      // a failure (a broken helper) is not remembered: the next call asks again
      hit.catch(() => this.cache.delete(registry));
    }
    return hit;
  }

  private async lookup(registry: string): Promise<Credential | undefined> {
    for (const path of authFilePaths(this.env)) {
      const file = await this.readAuthFile(path);
      if (!file) continue;
      const helper = findHelper(file, registry);
      if (helper !== undefined) {
        const cred = await this.fromHelper(helper, registry);
        if (cred) {
          this.logger.debug(`credentials for ${registry}: credential helper ${helper} (${path})`);
          return cred;
        }
      }
      const entry = findAuthEntry(file, registry);
      const cred = entry && decodeAuthEntry(entry);
      if (cred) {
        this.logger.debug(`credentials for ${registry}: ${path}`);
        return cred;
      }
    }
    this.logger.debug(`no credentials for ${registry}`);
    return undefined;
  }

  private async readAuthFile(path: string): Promise<AuthFile | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return undefined; // missing or unreadable: like docker, carry on without it
    }
    try {
      return parseJson(AuthFileSchema, text, `auth file ${path}`);
    } catch (err) {
      this.logger.warn(`ignoring ${withoutJsonExcerpt(err)}`);
      return undefined;
    }
  }

  /** `docker-credential-<helper> get` with the server URL on stdin; undefined when it has nothing. */
  private async fromHelper(helper: string, registry: string): Promise<Credential | undefined> {
    if (!isValidHelperName(helper)) {
      this.logger.warn(`ignoring credential helper with an invalid name: ${JSON.stringify(helper)}`);
      return undefined;
    }
    const exe = `docker-credential-${helper}`;
    let result: { code: number | null; stdout: string };
    try {
      result = await runHelper(exe, helperServerUrl(registry), this.env, this.helperTimeoutMs);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.logger.warn(
        code === 'ENOENT'
          ? `credential helper ${exe} not found in PATH; ignoring it for ${registry}`
          : `credential helper ${exe} failed for ${registry}: ${redact((err as Error).message)}`,
      );
      return undefined;
    }
    if (result.code !== 0) {
      // "credentials not found in native keychain" is the usual answer for an unknown server
      this.logger.debug(`credential helper ${exe} has no credentials for ${registry}`);
      return undefined;
    }
    try {
      return credentialFromHelper(parseJson(HelperOutputSchema, result.stdout, `output of ${exe}`));
    } catch (err) {
      // never echo helper output: it holds the secret
      throw new CopaError('AUTH', `credential helper ${exe} returned malformed output for ${registry}`, {
        hint: `check \`echo ${helperServerUrl(registry)} | ${exe} get\``,
        cause: new Error(withoutJsonExcerpt(err)),
      });
    }
  }
}

function runHelper(
  exe: string,
  serverUrl: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, ['get'], { env, stdio: ['pipe', 'pipe', 'ignore'], timeout: timeoutMs });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== null) reject(new Error(`${exe} killed by ${signal}`));
      else resolve({ code, stdout });
    });
    child.stdin.on('error', () => {}); // the helper may exit without reading stdin
    child.stdin.end(serverUrl + '\n');
  });
}

/** JSON.parse messages quote the input, which may hold a secret: keep only what failed. */
function withoutJsonExcerpt(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return redact(msg.replace(/ is not valid JSON: .*$/s, ' is not valid JSON'));
}
