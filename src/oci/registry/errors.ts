import { z } from 'zod';
import { CopaError } from '../../errors.js';
import { describeError } from './retry.js';

/** Body of a distribution API error response: `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…"}]}`. */
const RegistryErrorsSchema = z.looseObject({
  errors: z.array(z.looseObject({ code: z.string().optional(), message: z.string().optional() })),
});

/** `MANIFEST_UNKNOWN: manifest unknown` from an error body, or a short excerpt of a non-JSON body. */
export function summarizeErrorBody(body: string): string {
  const text = body.trim();
  if (text === '') return '';
  try {
    const parsed = RegistryErrorsSchema.safeParse(JSON.parse(text));
    if (parsed.success && parsed.data.errors.length > 0) {
      return parsed.data.errors
        .map((e) => [e.code, e.message].filter((p) => p !== undefined && p !== '').join(': '))
        .join('; ');
    }
  } catch {
    // not JSON: fall through to the excerpt
  }
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}

export interface StatusContext {
  /** registry as the user wrote it (for messages and the login hint) */
  registry: string;
  /** what was being done: "fetching manifest 127.0.0.1:5000/app:1" */
  what: string;
  status: number;
  /** already redacted body text */
  body: string;
}

const LOGIN_HINT = (registry: string): string =>
  `log in with \`docker login ${registry}\` (credentials are read from $DOCKER_CONFIG/config.json, ` +
  `~/.docker/config.json or $REGISTRY_AUTH_FILE) with an account allowed to access the repository`;

/** A non-success HTTP status as a CopaError: 401/403 -> AUTH, 404 -> NOT_FOUND, the rest -> REGISTRY. */
export function statusError(ctx: StatusContext): CopaError {
  const detail = summarizeErrorBody(ctx.body);
  const suffix = detail === '' ? `HTTP ${ctx.status}` : `HTTP ${ctx.status} ${detail}`;
  if (ctx.status === 401 || ctx.status === 403) {
    return new CopaError('AUTH', `${ctx.what}: registry ${ctx.registry} denied access (${suffix})`, {
      hint: LOGIN_HINT(ctx.registry),
    });
  }
  if (ctx.status === 404) {
    return new CopaError('NOT_FOUND', `${ctx.what}: not found on ${ctx.registry} (${suffix})`, {
      hint: 'check the repository name, tag and digest (and that you may see the repository)',
    });
  }
  if (ctx.status === 429) {
    return new CopaError(
      'REGISTRY',
      `${ctx.what}: registry ${ctx.registry} is rate limiting requests (${suffix})`,
      {
        hint: 'wait a while and retry; logging in usually raises the rate limit',
      },
    );
  }
  return new CopaError('REGISTRY', `${ctx.what}: registry ${ctx.registry} answered ${suffix}`, {
    hint:
      ctx.status >= 500
        ? 'the registry failed; retry later or ask its operator'
        : 'the registry refused the request; check the reference and the registry version',
  });
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO|wrong version number/i;

/** A connection failure (after retries) as a NETWORK CopaError, its text passed through `redactText`. */
export function networkError(registry: string, err: unknown, redactText: (s: string) => string): CopaError {
  const detail = redactText(describeError(err));
  // the original error may quote a proxy URL with user:password; keep only a redacted copy as the cause
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
  const cause = Object.assign(new Error(detail), code === undefined ? {} : { code });
  if (TLS_CODES.test(detail)) {
    return new CopaError('NETWORK', `registry ${registry}: TLS connection failed: ${detail}`, {
      hint:
        `if ${registry} serves plain HTTP, name it with --insecure-registry ${registry}; ` +
        'if it uses a private CA, add it with NODE_EXTRA_CA_CERTS=<ca.pem>',
      cause,
    });
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new CopaError('NETWORK', `registry ${registry} stopped answering: ${detail}`, {
      hint: 'retry later; a registry that is slow but alive may need a longer COPA_REGISTRY_TIMEOUT (seconds, default 60)',
      cause,
    });
  }
  return new CopaError('NETWORK', `registry ${registry} unreachable: ${detail}`, {
    hint: selfHosted(registry)
      ? `check the registry address and that it is running; for a registry without TLS use --insecure-registry ${registry}`
      : 'check the network connection (and HTTPS_PROXY if a proxy is needed); offline or air-gapped, copy the image to a registry you can reach and patch it there',
    cause,
  });
}

/**
 * A registry someone runs themselves (an explicit port, an IP address, `localhost`, a name without a
 * dot): the only kind for which plain HTTP (--insecure-registry) is a plausible fix.
 */
export function selfHosted(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return (
    registry !== host ||
    host === 'localhost' ||
    !host.includes('.') ||
    /^\d{1,3}(\.\d{1,3}){3}$/.test(host) ||
    host.startsWith('[')
  );
}
