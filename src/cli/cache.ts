import { Command } from 'commander';
import { listCache, type CacheItem, type CachePart } from '../cache/items.js';
import { formatBytes, parseSize, type PrunePolicy } from '../cache/policy.js';
import { cacheMaxBytes, prune } from '../cache/prune.js';
import { CopaError } from '../errors.js';
import { defaultCacheDir } from '../layers/cache.js';
import { parseDuration } from './duration.js';
import { tableLines } from './table.js';

const PARTS: CachePart[] = ['layers', 'packages', 'work'];

function totals(items: readonly CacheItem[]): Record<CachePart | 'total', { count: number; bytes: number }> {
  const t = {} as Record<CachePart | 'total', { count: number; bytes: number }>;
  for (const p of [...PARTS, 'total'] as const) {
    const of = p === 'total' ? items : items.filter((i) => i.part === p);
    t[p] = { count: of.length, bytes: of.reduce((n, i) => n + i.bytes, 0) };
  }
  return t;
}

function partLines(items: readonly CacheItem[]): string {
  const t = totals(items);
  return (
    PARTS.map((p) => `${p}: ${t[p].count} item(s), ${formatBytes(t[p].bytes)}`).join('\n') +
    `\ntotal: ${formatBytes(t.total.bytes)}\n`
  );
}

const json = (items: readonly CacheItem[]): object[] =>
  items.map((i) => ({ ...i, lastUsed: i.lastUsed.toISOString() }));

/** `copa cache du|prune`: the whole cache (layers, package indexes and downloads, work dirs). */
export function cacheCommand(): Command {
  const cmd = new Command('cache').description(
    'Inspect or prune the cache (extracted layers, package indexes and downloads, work dirs)',
  );
  cmd
    .command('du')
    .description('show what the cache holds, part by part')
    .option('--cache-dir <dir>', 'cache directory')
    .option('--json', 'print the items and totals as JSON', false)
    .action(async (o: { cacheDir?: string; json: boolean }) => {
      const dir = o.cacheDir ?? defaultCacheDir();
      const items = await listCache(dir);
      const cap = cacheMaxBytes();
      if (o.json) {
        process.stdout.write(
          JSON.stringify({ dir, capBytes: cap ?? null, totals: totals(items), items: json(items) }, null, 2) +
            '\n',
        );
        return;
      }
      const rows = [['PART', 'ITEM', 'SIZE', 'LAST USED', 'IN USE']];
      for (const i of items) {
        rows.push([i.part, i.id, formatBytes(i.bytes), i.lastUsed.toISOString(), i.inUse ? 'yes' : '']);
      }
      process.stdout.write(tableLines(rows).join('\n') + '\n');
      process.stdout.write(partLines(items));
      process.stdout.write(
        `cache dir ${dir}; cap ${cap === undefined ? 'off' : formatBytes(cap)} (COPA_CACHE_MAX)\n`,
      );
    });
  cmd
    .command('prune')
    .description('remove cache items no running copa uses (without options: everything)')
    .option('--all', 'everything not in use, including work dirs kept by --debug')
    .option('--older-than <duration>', 'items unused for this long, e.g. 168h')
    .option(
      '--keep-storage <size>',
      'then least recently used items until the cache holds at most this, e.g. 2GB',
    )
    .option('--cache-dir <dir>', 'cache directory')
    .option('--json', 'print what was removed as JSON', false)
    .action(
      async (o: {
        all?: boolean;
        olderThan?: string;
        keepStorage?: string;
        cacheDir?: string;
        json: boolean;
      }) => {
        const policy: PrunePolicy = {};
        if (o.olderThan !== undefined) policy.olderThanMs = parseDuration(o.olderThan, '--older-than');
        if (o.keepStorage !== undefined) {
          const bytes = parseSize(o.keepStorage);
          if (bytes === undefined) {
            throw new CopaError('USAGE', `--keep-storage: ${JSON.stringify(o.keepStorage)} is not a size`, {
              hint: 'e.g. --keep-storage 2GB, 500MiB or 1073741824',
            });
          }
          policy.keepBytes = bytes;
        }
        if (o.all || (policy.olderThanMs === undefined && policy.keepBytes === undefined)) policy.all = true;
        const dir = o.cacheDir ?? defaultCacheDir();
        const r = await prune(dir, policy);
        if (o.json) {
          process.stdout.write(
            JSON.stringify({ dir, removed: json(r.removed), kept: totals(r.kept) }, null, 2) + '\n',
          );
          return;
        }
        const freed = r.removed.reduce((n, i) => n + i.bytes, 0);
        const t = totals(r.removed);
        process.stdout.write(
          `removed ${PARTS.map((p) => `${t[p].count} ${p} item(s)`).join(', ')}; freed ${formatBytes(freed)}\n`,
        );
        const busy = r.kept.filter((i) => i.inUse).length;
        process.stdout.write(
          `left: ${formatBytes(totals(r.kept).total.bytes)}${busy > 0 ? ` (${busy} item(s) in use by running copa processes)` : ''}\n`,
        );
      },
    );
  return cmd;
}
