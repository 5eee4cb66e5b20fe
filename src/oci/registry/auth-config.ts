import { z } from 'zod';
import { isDockerHub } from './hosts.js';

/** Credentials for one registry, as found in a docker config / containers auth file or a helper. */
export interface Credential {
  username?: string | undefined;
  password?: string | undefined;
  /** OAuth2 refresh token (docker `identitytoken`), exchanged at the token endpoint */
  identityToken?: string | undefined;
  /** a bearer token sent as is (docker `registrytoken`) */
  registryToken?: string | undefined;
}

/** Where credentials come from. `registry` is as written in references (docker.io, ghcr.io, 127.0.0.1:5000). */
export interface CredentialProvider {
  get(registry: string): Promise<Credential | undefined>;
}

const AuthEntrySchema = z.looseObject({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
  registrytoken: z.string().optional(),
});
export type AuthEntry = z.infer<typeof AuthEntrySchema>;

/** `~/.docker/config.json` and podman's `auth.json` share this shape. */
export const AuthFileSchema = z.looseObject({
  auths: z.record(z.string(), AuthEntrySchema).optional(),
  credsStore: z.string().optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
});
export type AuthFile = z.infer<typeof AuthFileSchema>;

/** The credential helper's answer to `get`. */
export const HelperOutputSchema = z.looseObject({
  ServerURL: z.string().optional(),
  Username: z.string(),
  Secret: z.string(),
});

/**
 * Registry key as stored in auth files, reduced to host[:port]: `https://index.docker.io/v1/`,
 * `index.docker.io` and `docker.io` all become `docker.io`.
 */
export function normalizeAuthKey(key: string): string {
  const host = key
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return isDockerHub(host) ? 'docker.io' : host;
}

/** The `auths` entry for a registry (first key that normalises to it), if any. */
export function findAuthEntry(file: AuthFile, registry: string): AuthEntry | undefined {
  const want = normalizeAuthKey(registry);
  for (const [key, entry] of Object.entries(file.auths ?? {})) {
    if (normalizeAuthKey(key) === want) return entry;
  }
  return undefined;
}

/** The credential helper for a registry: `credHelpers` entry first, then `credsStore`. */
export function findHelper(file: AuthFile, registry: string): string | undefined {
  const want = normalizeAuthKey(registry);
  for (const [key, helper] of Object.entries(file.credHelpers ?? {})) {
    if (normalizeAuthKey(key) === want && helper !== '') return helper;
  }
  return file.credsStore !== undefined && file.credsStore !== '' ? file.credsStore : undefined;
}

/** Credentials of an `auths` entry (base64 `auth` = `user:password`, or explicit fields); undefined when empty. */
export function decodeAuthEntry(entry: AuthEntry): Credential | undefined {
  let username = entry.username;
  let password = entry.password;
  if (entry.auth !== undefined && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
  }
  const cred: Credential = {
    username: username === '' ? undefined : username,
    password: password === '' ? undefined : password,
    identityToken: entry.identitytoken === '' ? undefined : entry.identitytoken,
    registryToken: entry.registrytoken === '' ? undefined : entry.registrytoken,
  };
  const empty = Object.values(cred).every((v) => v === undefined);
  return empty ? undefined : cred;
}

/** What a credential helper expects on stdin for a registry (Docker Hub uses its legacy index URL). */
export function helperServerUrl(registry: string): string {
  return isDockerHub(registry) ? 'https://index.docker.io/v1/' : registry;
}

/** A helper's `{Username, Secret}`; the user name `<token>` means the secret is an identity token. */
export function credentialFromHelper(out: z.infer<typeof HelperOutputSchema>): Credential | undefined {
  if (out.Secret === '') return undefined;
  if (out.Username === '<token>') return { identityToken: out.Secret };
  return { username: out.Username, password: out.Secret };
}

/** Helper names become part of an executable name: allow only plain names. */
export function isValidHelperName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name);
}
