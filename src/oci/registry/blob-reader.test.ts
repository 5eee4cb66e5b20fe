import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { contentRangeStart, openBlob } from './blob-reader.js';
import type { HttpResponse } from './transport.js';

const blob = randomBytes(100_000);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

/** An in-memory response (no server): `data` in 10 kB chunks, failing with ECONNRESET after `breakAfter` bytes. */
function inMemoryResponse(
  status: number,
  data: Buffer,
  headers: Record<string, string>,
  breakAfter?: number,
): HttpResponse {
  function* chunks(): Generator<Buffer> {
    for (let i = 0; i < data.length; i += 10_000) {
      if (breakAfter !== undefined && i >= breakAfter) {
        throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      }
      yield data.subarray(i, i + 10_000);
    }
  }
  const body = Readable.from(chunks(), { objectMode: false }) as unknown as HttpResponse['body'];
  return { status, headers: { 'content-length': String(data.length), ...headers }, body };
}

async function collect(s: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of s) out.push(c as Buffer);
  return Buffer.concat(out);
}

/** The blob reader over a synchronous source of in-memory responses. */
function reader(respond: (offset: number) => HttpResponse, size?: number): Promise<Readable> {
  const fetchFrom = (offset: number): Promise<HttpResponse> => Promise.resolve(respond(offset));
  return openBlob({ digest, size, what: 'test blob', registry: 'r', fetchFrom, retries: 3, retryBaseMs: 1 });
}

describe('openBlob (in-memory responses)', () => {
  it('resumes with a range request after a reset', async () => {
    const offsets: number[] = [];
    const stream = await reader((offset) => {
      offsets.push(offset);
      if (offset === 0) return inMemoryResponse(200, blob, {}, 30_000);
      const rest = blob.subarray(offset);
      return inMemoryResponse(206, rest, {
        'content-range': `bytes ${offset}-${blob.length - 1}/${blob.length}`,
      });
    }, blob.length);
    expect((await collect(stream)).equals(blob)).toBe(true);
    expect(offsets).toEqual([0, 30_000]);
  });

  it('skips what it already passed on when the server answers a range request with the whole blob', async () => {
    let calls = 0;
    const stream = await reader(() => {
      calls++;
      return inMemoryResponse(200, blob, {}, calls < 3 ? 20_000 * calls : undefined);
    });
    expect((await collect(stream)).equals(blob)).toBe(true);
    expect(calls).toBe(3);
  });

  it('gives up after the retries with NETWORK', async () => {
    const stream = await reader(() => inMemoryResponse(200, blob, {}, 10_000));
    const err = await collect(stream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('NETWORK');
  });

  it('fails with DIGEST_MISMATCH on wrong bytes', async () => {
    const wrong = Buffer.from(blob);
    wrong[500] = (wrong[500] ?? 0) ^ 1;
    const stream = await reader(() => inMemoryResponse(200, wrong, {}));
    const err = await collect(stream).catch((e: unknown) => e);
    expect((err as CopaError).code).toBe('DIGEST_MISMATCH');
  });

  it('rejects a resume at the wrong offset', async () => {
    const stream = await reader((offset) =>
      offset === 0
        ? inMemoryResponse(200, blob, {}, 30_000)
        : inMemoryResponse(206, blob, { 'content-range': `bytes 0-${blob.length - 1}/${blob.length}` }),
    );
    const err = await collect(stream).catch((e: unknown) => e);
    expect((err as CopaError).code).toBe('REGISTRY');
  });

  it('parses Content-Range', () => {
    expect(contentRangeStart('bytes 100-199/200')).toBe(100);
    expect(contentRangeStart('bytes 5-9/*')).toBe(5);
    expect(contentRangeStart('items 1-2/3')).toBeUndefined();
    expect(contentRangeStart(undefined)).toBeUndefined();
  });
});
