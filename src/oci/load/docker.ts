import { PassThrough, type Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { CopaError, withContext } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { writeDockerArchive } from '../archive/docker.js';
import type { Image } from '../image.js';
import type { DockerEndpoint } from './endpoint.js';

/** The Docker Engine API over its unix socket: `GET /_ping`, `POST /images/load`. */

const PING_TIMEOUT_MS = 3000;
const MAX_REPLY = 1 << 20;

function agentFor(endpoint: DockerEndpoint): Agent {
  // a load answers only after the engine has read the whole archive: no undici timeouts, the caller's
  // signal (--timeout, Ctrl-C) bounds it
  return new Agent({ connect: { socketPath: endpoint.socketPath }, headersTimeout: 0, bodyTimeout: 0 });
}

/** Whether an engine answers `/_ping` on the endpoint (false on any error: absent socket, refused, timeout). */
export async function pingDocker(endpoint: DockerEndpoint, timeoutMs = PING_TIMEOUT_MS): Promise<boolean> {
  const agent = agentFor(endpoint);
  try {
    const res = await request('http://docker/_ping', {
      dispatcher: agent,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body.text();
    return res.statusCode === 200;
  } catch {
    return false;
  } finally {
    await agent.close().catch(() => undefined);
  }
}

/** One message of the load reply (a stream of JSON objects, one per line). */
const LoadMessageSchema = z.looseObject({
  stream: z.string().optional(),
  status: z.string().optional(),
  error: z.string().optional(),
  errorDetail: z.looseObject({ message: z.string().optional() }).optional(),
});

export interface LoadReply {
  /** `Loaded image: …` lines */
  loaded: string[];
  /** the engine's error, if a message carried one */
  error?: string;
}

/** Parse the engine's reply to `POST /images/load` (pure). Lines that are not JSON objects are ignored. */
export function parseLoadReply(text: string): LoadReply {
  const reply: LoadReply = { loaded: [] };
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    const msg = LoadMessageSchema.safeParse(value);
    if (!msg.success) continue;
    const err = msg.data.errorDetail?.message ?? msg.data.error;
    if (err && reply.error === undefined) reply.error = err.trim();
    for (const s of [msg.data.stream, msg.data.status]) {
      const m = s ? /Loaded image(?: ID)?: (\S+)/.exec(s) : null;
      if (m?.[1]) reply.loaded.push(m[1]);
    }
  }
  return reply;
}

async function readCapped(body: Readable | AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size < MAX_REPLY) parts.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(parts).toString('utf8');
}

const ErrorBodySchema = z.looseObject({ message: z.string() });

function engineError(status: number, text: string, endpoint: DockerEndpoint): CopaError {
  let message = text.trim().slice(0, 500);
  try {
    const parsed = ErrorBodySchema.safeParse(JSON.parse(text));
    if (parsed.success) message = parsed.data.message;
  } catch {
    // not JSON: keep the text
  }
  return new CopaError(
    'ENVIRONMENT',
    `the docker engine at ${endpoint.socketPath} refused the image (HTTP ${status}): ${message}`,
    {
      hint: 'check the engine log (journalctl -u docker); --loader podman, --push or --oci-dir avoid it',
    },
  );
}

async function postLoad(
  endpoint: DockerEndpoint,
  dispatcher: Dispatcher,
  body: Readable,
  signal: AbortSignal | undefined,
): Promise<LoadReply> {
  const res = await request('http://docker/images/load?quiet=1', {
    method: 'POST',
    dispatcher,
    body,
    headers: { 'content-type': 'application/x-tar' },
    ...(signal ? { signal } : {}),
  });
  const text = await readCapped(res.body);
  if (res.statusCode !== 200) throw engineError(res.statusCode, text, endpoint);
  const reply = parseLoadReply(text);
  if (reply.error !== undefined) {
    throw new CopaError('ENVIRONMENT', `docker load failed: ${reply.error}`, {
      hint: 'check the engine log; --loader podman, --push or --oci-dir avoid it',
    });
  }
  return reply;
}

/**
 * Stream `image` as a docker-archive into the engine's `POST /images/load`, tagged `repoTag`.
 * Nothing is buffered: the archive is written into the request body as the engine reads it.
 */
export async function dockerLoad(
  endpoint: DockerEndpoint,
  image: Image,
  repoTag: string,
  opts: { logger?: Logger; signal?: AbortSignal } = {},
): Promise<LoadReply> {
  const logger = opts.logger ?? silentLogger;
  opts.signal?.throwIfAborted();
  const agent = agentFor(endpoint);
  const body = new PassThrough();
  const onAbort = (): void => {
    body.destroy(new CopaError('CANCELLED', 'docker load interrupted'));
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const writing = writeDockerArchive(body, image, [repoTag]);
  const sending = postLoad(endpoint, agent, body, opts.signal).finally(() => {
    // the engine answered (or the request failed) before the archive ended: stop the writer
    if (!body.writableEnded) body.destroy();
  });
  try {
    const [, reply] = await Promise.all([writing, sending]);
    for (const l of reply.loaded) logger.debug(`docker: loaded ${l}`);
    return reply;
  } catch (e) {
    body.destroy();
    const [w, s] = await Promise.allSettled([writing, sending]);
    // the engine's own message explains more than the broken pipe it caused, and vice versa
    const engine = s.status === 'rejected' && s.reason instanceof CopaError ? s.reason : undefined;
    const writer =
      w.status === 'rejected' && w.reason instanceof CopaError && w.reason.code !== 'INTERNAL'
        ? w.reason
        : undefined;
    if (opts.signal?.aborted)
      throw opts.signal.reason instanceof CopaError
        ? opts.signal.reason
        : new CopaError('CANCELLED', 'operation canceled');
    throw writer ?? engine ?? withContext(e, `loading into docker at ${endpoint.socketPath}`);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await agent.close().catch(() => undefined);
  }
}
