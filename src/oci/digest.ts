import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { CopaError } from '../errors.js';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

export function assertDigest(s: string, what = 'digest'): string {
  if (!isDigest(s)) throw new CopaError('REGISTRY', `invalid ${what} ${JSON.stringify(s)}`);
  return s;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Hex part of a sha256 digest (for file names under blobs/sha256/). */
export function digestHex(digest: string): string {
  return assertDigest(digest).slice('sha256:'.length);
}

/**
 * A pass-through stream that hashes and counts what flows through it. With `expected`, the stream
 * fails at the end (before signalling completion) when the digest or size differ.
 */
export class DigestStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  private result: string | undefined;

  constructor(private readonly expected?: { digest?: string; size?: number; what?: string }) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.expected?.size !== undefined && this.bytes > this.expected.size) {
      cb(this.mismatch(`more than ${this.expected.size} bytes`));
      return;
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.result = `sha256:${this.hash.digest('hex')}`;
    const exp = this.expected;
    if (exp?.size !== undefined && this.bytes !== exp.size) {
      cb(this.mismatch(`${this.bytes} bytes, expected ${exp.size}`));
      return;
    }
    if (exp?.digest !== undefined && this.result !== exp.digest) {
      cb(this.mismatch(`got ${this.result}`));
      return;
    }
    cb();
  }

  /** The digest of everything that passed; only valid after the stream ended. */
  digest(): string {
    if (this.result === undefined) throw new Error('DigestStream.digest() called before end');
    return this.result;
  }

  private mismatch(detail: string): CopaError {
    const what = this.expected?.what ?? this.expected?.digest ?? 'blob';
    return new CopaError('DIGEST_MISMATCH', `content of ${what} does not match its digest (${detail})`, {
      hint: 'the registry or a proxy served wrong bytes; retry, and report it to the registry operator if it persists',
    });
  }
}

/** `onBytes` called with a running total at most once per `every` bytes (and always for a final total). */
export function throttledBytes(
  onBytes: (total: number) => void,
  every = 1 << 20,
): (total: number, final?: boolean) => void {
  let told = 0;
  return (total, final = false) => {
    if (total - told >= every || (final && total !== told)) {
      told = total;
      onBytes(total);
    }
  };
}

/**
 * A pass-through stream that tells `onBytes` how many bytes went through so far, at most once per
 * `every` bytes (progress displays; a callback per chunk would be work on the hot path for nothing).
 */
export function byteCounter(onBytes: (total: number) => void, every = 1 << 20): Transform {
  const tell = throttledBytes(onBytes, every);
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      tell(total);
      cb(null, chunk);
    },
    flush(cb) {
      tell(total, true);
      cb();
    },
  });
}
