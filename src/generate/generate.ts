import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { pipeline as streamPipeline, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CopaError, withContext } from '../errors.js';
import { decompress } from '../layers/decompress.js';
import { DigestStream } from '../oci/digest.js';
import { formatPlatform, hostPlatform } from '../oci/platform.js';
import type { PatchOptions } from '../patch/options.js';
import { patch } from '../patch/patch.js';
import type { PatchResult } from '../patch/result.js';
import type { DeliverHook } from '../patch/delivery.js';
import { buildContext } from './context.js';

export type GenerateOutput =
  /** a file, written to a temp name beside it and renamed when complete */
  | { path: string }
  /** a stream, asked for only when there is something to write (stdout); it is not ended */
  | { stream: () => Writable };

export type GenerateOptions = Omit<
  PatchOptions,
  'push' | 'ociDir' | 'dryRun' | 'loader' | 'compression' | 'forceCompression' | 'deliver'
> & { output: GenerateOutput };

async function writeOut(bytes: Readable, output: GenerateOutput, signal: AbortSignal): Promise<string> {
  if ('stream' in output) {
    await pipeline(bytes, output.stream(), { end: false, signal });
    return '-';
  }
  const tmp = `${output.path}.tmp-${process.pid}`;
  try {
    await pipeline(bytes, createWriteStream(tmp, { mode: 0o644 }), { signal });
    await rename(tmp, output.path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return output.path;
}

/**
 * `copa generate`: patch the image (same flow as `copa patch`), but instead of writing an image, write a
 * Docker build context (Dockerfile + patch/ tree) for `docker build -`. Nothing is written when the image is
 * already up to date (status 'Up-to-date').
 */
export async function generate(opts: GenerateOptions): Promise<PatchResult> {
  if (opts.tag && /[:@/]/.test(opts.tag)) {
    throw new CopaError(
      'USAGE',
      `--tag ${JSON.stringify(opts.tag)}: copa generate takes a plain tag, not a full reference`,
      {
        hint: 'give a tag such as 1.2-patched; name the built image with docker build -t',
      },
    );
  }
  if (opts.report && (await stat(opts.report).catch(() => undefined))?.isDirectory()) {
    throw new CopaError(
      'USAGE',
      `--report ${opts.report} is a directory: copa generate takes one report file`,
      {
        hint: 'pass the report file of the platform to patch (and --platform to choose it)',
      },
    );
  }
  const { output, ...rest } = opts;
  const hook: DeliverHook = async (image, { layer, logger, signal }) => {
    const last = (await image.layers()).at(-1);
    if (!last || last.diffID !== layer.diffID)
      throw new CopaError('INTERNAL', 'the patched image does not end with the new layer');
    const created = (await image.config()).created ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const verify = new DigestStream({
      digest: layer.diffID,
      size: layer.uncompressedSize,
      what: `patch layer ${layer.diffID}`,
    });
    // pipeline destroys `verify` with the source's error, so reading the context fails with it
    streamPipeline(decompress(await last.compressed()), verify, () => undefined);
    const bytes = Readable.from(buildContext(verify, { image: opts.image, created, logger }), {
      objectMode: false,
    });
    try {
      const location = await writeOut(bytes, output, signal);
      logger.info(`Wrote build context ${location === '-' ? 'to stdout' : location} (FROM ${opts.image})`);
      return { kind: 'build-context', location, digest: undefined };
    } catch (e) {
      throw withContext(e, 'writing the build context');
    } finally {
      verify.destroy();
    }
  };
  return patch({
    ...rest,
    // the context is built by a docker engine FROM the image: its own platform unless told otherwise
    platforms: opts.platforms?.length ? opts.platforms : [formatPlatform(hostPlatform())],
    deliver: hook,
  });
}
