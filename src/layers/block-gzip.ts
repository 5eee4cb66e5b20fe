/**
 * gzip on several threads with one ordinary gzip member as the result (the technique pigz uses):
 * the input is cut into fixed-size blocks, each deflated on libuv's thread pool with the previous
 * block's last 32 KiB as its dictionary and ended with a sync flush (the last block finishes the
 * stream); the blocks' outputs, concatenated in order between a gzip header and trailer, are one
 * valid deflate stream. The bytes depend only on the input, the block size and the level, never on
 * thread timing, so a layer's digest stays reproducible.
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

const deflateRaw = promisify<zlib.InputType, zlib.ZlibOptions, Buffer>(zlib.deflateRaw);

export const GZIP_BLOCK = 1 << 20;
const WINDOW = 32 << 10;
/** blocks being deflated at once (libuv's pool has 4 threads by default) */
const IN_FLIGHT = 4;

/** RFC 1952 header: no name, no mtime, XFL 0, OS 255 ("unknown": the same bytes on every platform). */
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

export type ChunkSink = (chunk: Buffer) => void | Promise<void>;

export class BlockGzip {
  private parts: Buffer[] = [];
  private partsLength = 0;
  private dictionary: Buffer | undefined;
  private readonly running: Promise<Buffer>[] = [];
  private crc = 0;
  private size = 0;
  private started = false;

  constructor(
    private readonly sink: ChunkSink,
    private readonly level = 6,
    private readonly blockSize = GZIP_BLOCK,
  ) {}

  /** Take `data`; resolves once the output has caught up enough to accept more. */
  async write(data: Buffer): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.sink(HEADER);
    }
    this.parts.push(data);
    this.partsLength += data.length;
    while (this.partsLength >= this.blockSize) {
      const all = Buffer.concat(this.parts, this.partsLength);
      this.parts = [all.subarray(this.blockSize)];
      this.partsLength = all.length - this.blockSize;
      this.submit(all.subarray(0, this.blockSize), false);
      while (this.running.length >= IN_FLIGHT) await this.emitOne();
    }
  }

  /** Compress what is left, then write the trailer (CRC-32 and length of the input). */
  async end(): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.sink(HEADER);
    }
    this.submit(Buffer.concat(this.parts, this.partsLength), true);
    this.parts = [];
    this.partsLength = 0;
    while (this.running.length > 0) await this.emitOne();
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.size % 2 ** 32, 4);
    await this.sink(trailer);
  }

  private submit(block: Buffer, last: boolean): void {
    this.crc = zlib.crc32(block, this.crc);
    this.size += block.length;
    const opts: zlib.ZlibOptions = {
      level: this.level,
      finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
      ...(this.dictionary ? { dictionary: this.dictionary } : {}),
    };
    // a copy: the caller may reuse its buffers once write() resolves
    this.dictionary = Buffer.from(block.subarray(Math.max(0, block.length - WINDOW)));
    const p = deflateRaw(block, opts);
    p.catch(() => {}); // awaited in order by emitOne; this only keeps an early failure from being unhandled
    this.running.push(p);
  }

  private async emitOne(): Promise<void> {
    const next = this.running.shift();
    if (next) await this.sink(await next);
  }
}
