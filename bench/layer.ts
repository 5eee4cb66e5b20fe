import { createReadStream } from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';

/**
 * What a new layer holds, by kind of path: the changed package files, the dpkg database, and what should
 * never be in a patch layer (apt lists, .deb caches, logs beyond dpkg's own). Read by streaming the
 * gzip tar once; only var/lib/dpkg/status is kept in memory (to sum the upgraded packages' Installed-Size).
 */

export type Category = 'package files' | 'dpkg db' | 'apt lists' | 'apt cache' | 'logs' | 'whiteouts';

export const CATEGORIES: readonly Category[] = [
  'package files',
  'dpkg db',
  'apt lists',
  'apt cache',
  'logs',
  'whiteouts',
];

export interface LayerContent {
  /** compressed bytes read */
  compressed: number;
  /** tar bytes (uncompressed layer size) */
  uncompressed: number;
  entries: number;
  /** file content bytes (tar header sizes) by category; whiteouts count entries */
  bytes: Record<Category, number>;
  /** Σ Installed-Size (KiB × 1024) of the named packages, from the layer's own dpkg status file */
  upgradedInstalledSize?: number;
  /** paths of files in the "should not be there" categories, a few for the report */
  unwanted: string[];
}

/** A tar entry name, without a leading `./` or `/`. */
export function normalName(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

export function categorize(name: string): Category {
  const n = normalName(name);
  const base = n.slice(n.lastIndexOf('/') + 1);
  if (base.startsWith('.wh.')) return 'whiteouts';
  if (n === 'var/lib/dpkg' || n.startsWith('var/lib/dpkg/')) return 'dpkg db';
  if (n.startsWith('var/lib/apt/lists/')) return 'apt lists';
  if (n.startsWith('var/cache/apt/') || n.endsWith('.deb')) return 'apt cache';
  // dpkg's own log is part of what a package update writes; apt's logs and the rest are not
  if (n.startsWith('var/log/') && n !== 'var/log/dpkg.log' && n !== 'var/log/alternatives.log') return 'logs';
  return 'package files';
}

const UNWANTED = new Set<Category>(['apt lists', 'apt cache', 'logs']);

/** Σ Installed-Size × 1024 of the stanzas of `names` in a dpkg status text (missing ones count 0). */
export function installedSize(statusText: string, names: readonly string[]): number {
  const wanted = new Set(names);
  let total = 0;
  for (const stanza of statusText.split(/\n\s*\n/)) {
    const pkg = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    const size = /^Installed-Size:\s*(\d+)/m.exec(stanza)?.[1];
    if (pkg !== undefined && wanted.has(pkg) && size !== undefined) total += Number(size) * 1024;
  }
  return total;
}

class Counter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** Analyze a gzip tar stream. `upgraded`: package names whose Installed-Size to sum. */
export async function analyzeLayerStream(
  source: Readable,
  upgraded: readonly string[] = [],
): Promise<LayerContent> {
  const compressed = new Counter();
  const uncompressed = new Counter();
  const extract = tar.extract();
  const bytes = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  const unwanted: string[] = [];
  let entries = 0;
  let status: Buffer | undefined;
  extract.on('entry', (header, stream, next) => {
    entries++;
    const cat = categorize(header.name);
    bytes[cat] += cat === 'whiteouts' ? 1 : (header.size ?? 0);
    if (UNWANTED.has(cat) && unwanted.length < 10 && header.type === 'file')
      unwanted.push(normalName(header.name));
    const chunks: Buffer[] = [];
    const isStatus = normalName(header.name) === 'var/lib/dpkg/status';
    stream.on('data', (d: unknown) => {
      if (isStatus) chunks.push(d as Buffer);
    });
    stream.on('end', () => {
      if (isStatus) status = Buffer.concat(chunks);
      next();
    });
    stream.resume();
  });
  await pipeline(source, compressed, createGunzip(), uncompressed, extract);
  return {
    compressed: compressed.bytes,
    uncompressed: uncompressed.bytes,
    entries,
    bytes,
    ...(status !== undefined && upgraded.length > 0
      ? { upgradedInstalledSize: installedSize(status.toString('utf8'), upgraded) }
      : {}),
    unwanted,
  };
}

/** Analyze a gzip layer blob served by a (plain-HTTP, loopback) registry. */
export async function analyzeRegistryLayer(
  registryHost: string,
  repository: string,
  digest: string,
  upgraded: readonly string[] = [],
): Promise<LayerContent> {
  const res = await fetch(`http://${registryHost}/v2/${repository}/blobs/${digest}`);
  if (!res.ok || !res.body) throw new Error(`GET blob ${digest} of ${repository}: HTTP ${res.status}`);
  return analyzeLayerStream(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), upgraded);
}

/** Analyze a gzip layer file. */
export async function analyzeLayerFile(
  path: string,
  upgraded: readonly string[] = [],
): Promise<LayerContent> {
  return analyzeLayerStream(createReadStream(path), upgraded);
}
