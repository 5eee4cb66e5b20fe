import { Readable } from 'node:stream';
import { CopaError, withContext } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { byteCounter, sha256 } from '../digest.js';
import type { Image, ImageIndex } from '../image.js';
import { isIndexMediaType } from '../mediatypes.js';
import type { ImageReference } from '../reference.js';
import type { RegistryClient } from './client.js';
import { repoName, type Repo } from './hosts.js';

export interface PushOptions {
  /** blobs uploaded at once (default 3) */
  concurrency?: number;
  logger?: Logger;
  /** bytes uploaded so far, of `total` (blobs the target has or mounts are not counted) */
  onBytes?: (uploaded: number) => void;
  /**
   * Cancels the push: uploads in flight are cut, and the manifest (the tag) is never written after it
   * fired — an interrupted run pushes no tag, even when its blobs were all uploaded.
   */
  signal?: AbortSignal;
}

/** Throw CANCELLED once `signal` fired: called before each step that cannot be taken back. */
export function checkNotCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new CopaError('CANCELLED', `${what}: operation canceled`);
}

/** `src`, destroyed (ending its upload) when `signal` fires. */
function cancellable(src: Readable, signal: AbortSignal | undefined): Readable {
  if (!signal) return src;
  const onAbort = (): void => void src.destroy(new CopaError('CANCELLED', 'upload canceled'));
  if (signal.aborted) onAbort();
  else {
    signal.addEventListener('abort', onAbort, { once: true });
    src.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return src;
}

interface BlobToPush {
  digest: string;
  size: number;
  what: string;
  open: () => Promise<Readable>;
}

/**
 * Run `fn` over `items` with at most `limit` in flight. After the first failure no new work starts;
 * the ones in flight finish, then the first error is thrown.
 */
export async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed) throw failed.error;
}

/**
 * Push an image: config and layers first (skip what the target has, cross-mount within one registry,
 * upload the rest), the manifest last, so a tag never points at missing blobs. The manifest goes to
 * the tag, or to its digest when the target has no tag.
 */
export async function pushImage(
  client: RegistryClient,
  image: Image,
  target: ImageReference,
  opts: PushOptions = {},
): Promise<{ digest: string }> {
  const logger = opts.logger ?? silentLogger;
  const to: Repo = { registry: target.registry, repository: target.repository };
  const raw = await image.rawManifest();
  const digest = sha256(raw);
  if (target.digest !== undefined && target.digest !== digest) {
    throw new CopaError(
      'USAGE',
      `cannot push image ${digest} to ${repoName(to)}@${target.digest}: the digests differ`,
      {
        hint: 'name the target by tag, or by the digest of the image itself',
      },
    );
  }
  const manifest = await image.manifest();
  const configBytes = await image.rawConfig();
  const blobs: BlobToPush[] = [
    {
      digest: manifest.config.digest,
      size: manifest.config.size,
      what: 'config',
      open: () => Promise.resolve(Readable.from([configBytes])),
    },
    ...(await image.layers()).map((l) => ({
      digest: l.digest,
      size: l.size,
      what: 'layer',
      open: () => l.compressed(),
    })),
  ];
  const unique = blobs.filter((b, i) => blobs.findIndex((o) => o.digest === b.digest) === i);
  const source = image.source;
  const mountFrom =
    source && source.registry === to.registry && source.repository !== to.repository ? source : undefined;

  let uploaded = 0;
  await eachLimit(unique, opts.concurrency ?? 3, async (blob) => {
    checkNotCancelled(opts.signal, `pushing to ${repoName(to)}`);
    try {
      if (await client.hasBlob(to, blob.digest, 'push')) {
        logger.debug(`${blob.what} ${blob.digest} already in ${repoName(to)}`);
        return;
      }
      if (mountFrom && (await client.mountBlob(to, blob.digest, mountFrom))) {
        logger.debug(`${blob.what} ${blob.digest} mounted from ${mountFrom.repository}`);
        return;
      }
      const onBytes = opts.onBytes;
      // bytes of this blob counted so far; a retried upload starts again from zero, so its earlier
      // attempt's bytes come off the total (they would otherwise be counted twice)
      let seen = 0;
      let attempts = 0;
      const open = onBytes
        ? async (): Promise<Readable> => {
            uploaded -= seen;
            seen = 0;
            const attempt = ++attempts;
            const counter = byteCounter((n) => {
              if (attempt !== attempts) return; // a late count from an attempt already given up
              uploaded += n - seen;
              seen = n;
              onBytes(uploaded);
            });
            const src = cancellable(await blob.open(), opts.signal);
            src.on('error', (e) => counter.destroy(e));
            return src.pipe(counter);
          }
        : async (): Promise<Readable> => cancellable(await blob.open(), opts.signal);
      await client.pushBlob(to, blob.digest, blob.size, open);
      logger.debug(`${blob.what} ${blob.digest} uploaded (${blob.size} bytes)`);
    } catch (err) {
      throw withContext(err, `pushing ${blob.what} ${blob.digest} to ${repoName(to)}`);
    }
  });

  checkNotCancelled(opts.signal, `pushing to ${repoName(to)}`);
  await client.putManifest(to, target.tag ?? digest, raw, image.mediaType);
  logger.debug(`manifest ${digest} pushed to ${repoName(to)}${target.tag ? `:${target.tag}` : ''}`);
  return { digest };
}

/**
 * Push an index: every child image by digest (skipping children the target already has), then the
 * index itself to the tag (or its digest).
 */
export async function pushIndex(
  client: RegistryClient,
  index: ImageIndex,
  target: ImageReference,
  opts: PushOptions = {},
): Promise<{ digest: string }> {
  const logger = opts.logger ?? silentLogger;
  const to: Repo = { registry: target.registry, repository: target.repository };
  const raw = await index.rawManifest();
  const digest = sha256(raw);
  if (target.digest !== undefined && target.digest !== digest) {
    throw new CopaError(
      'USAGE',
      `cannot push index ${digest} to ${repoName(to)}@${target.digest}: the digests differ`,
      {
        hint: 'name the target by tag, or by the digest of the index itself',
      },
    );
  }
  for (const desc of (await index.index()).manifests) {
    if (isIndexMediaType(desc.mediaType)) {
      throw new CopaError('REGISTRY', `cannot push ${repoName(to)}: child ${desc.digest} is a nested index`, {
        hint: 'nested indexes are not supported',
      });
    }
    const existing = await client.headManifest(to, desc.digest);
    if (existing) {
      logger.debug(`manifest ${desc.digest} already in ${repoName(to)}`);
      continue;
    }
    const child = await index.image(desc);
    await pushImage(client, child, { ...to, digest: desc.digest }, opts);
  }
  checkNotCancelled(opts.signal, `pushing to ${repoName(to)}`);
  await client.putManifest(to, target.tag ?? digest, raw, index.mediaType);
  logger.debug(`index ${digest} pushed to ${repoName(to)}${target.tag ? `:${target.tag}` : ''}`);
  return { digest };
}
