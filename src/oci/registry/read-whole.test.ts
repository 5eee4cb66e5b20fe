import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { readWhole } from './read-whole.js';
import type { HttpResponse } from './transport.js';

/** An in-memory 200 response whose body breaks off with ECONNRESET after `breakAfter` bytes (no server). */
function response(data: Buffer, breakAfter?: number): HttpResponse {
  function* chunks(): Generator<Buffer> {
    if (breakAfter !== undefined) {
      yield data.subarray(0, breakAfter);
      throw Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    }
    yield data;
  }
  const body = Readable.from(chunks(), { objectMode: false }) as unknown as HttpResponse['body'];
  return { status: 200, headers: { 'content-length': String(data.length) }, body };
}

const opts = { registry: 'r.test', what: 'manifest r.test/a:1', limit: 1024, retries: 2, retryBaseMs: 1 };
const redact = (s: string): string => s;
const doc = Buffer.from('{"schemaVersion":2,"layers":[]}');

describe('readWhole', () => {
  it('asks again when the body breaks off after the headers, and returns the whole body', async () => {
    let sent = 0;
    const got = await readWhole(() => Promise.resolve(response(doc, sent++ === 0 ? 5 : undefined)), {
      ...opts,
      redact,
    });
    expect(got.bytes.equals(doc)).toBe(true);
    expect(sent).toBe(2);
  });

  it('fails with one NETWORK line after the retries', async () => {
    let sent = 0;
    const err = await readWhole(
      () => {
        sent++;
        return Promise.resolve(response(doc, 5));
      },
      { ...opts, redact },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('NETWORK');
    expect((err as CopaError).message).toMatch(
      /^reading manifest r\.test\/a:1: the connection to r\.test broke off/,
    );
    expect((err as CopaError).message).not.toContain('\n');
    expect(sent).toBe(3);
  });

  it('does not retry a body over the limit or an error thrown by send', async () => {
    let sent = 0;
    const big = await readWhole(
      () => {
        sent++;
        return Promise.resolve(response(Buffer.alloc(2048)));
      },
      { ...opts, redact },
    ).catch((e: unknown) => e);
    expect((big as CopaError).code).toBe('REGISTRY');
    expect(sent).toBe(1);
    const refused = new CopaError('NOT_FOUND', 'no such manifest');
    await expect(readWhole(() => Promise.reject(refused), { ...opts, redact })).rejects.toBe(refused);
  });
});
