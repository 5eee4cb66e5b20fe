/**
 * The `copa generate` build context: a tar with a Dockerfile (`FROM <image>`, `COPY patch/ /`, the patched
 * label) and the patch layer's entries re-rooted under `patch/`. Streamed entry by entry from the layer tar;
 * nothing is buffered beyond one header.
 */
import { CopaError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { classifyWhiteout, cleanEntryPath } from '../layers/paths.js';
import { BLOCK, encodeHeader, padding, type EntryHeader } from '../layers/tar-header.js';
import { readTar, type TarHeader } from '../layers/tar-reader.js';

export const CONTEXT_DIR = 'patch';
export const LABEL_PATCHED = 'sh.copa.image.patched';

/** The Dockerfile of the context (pure). `image` is a validated reference: no quotes, no newlines. */
export function dockerfile(image: string, created: string): string {
  return `FROM ${image}\nCOPY ${CONTEXT_DIR}/ /\nLABEL ${LABEL_PATCHED}="${created}"\n`;
}

export interface ContextOptions {
  /** the image the Dockerfile builds FROM */
  image: string;
  /** RFC 3339 time of the patch (label value, mtime of the Dockerfile) */
  created: string;
  logger?: Logger;
}

/** What a COPY cannot carry, collected to warn once per kind. */
class Dropped {
  private readonly byKind = new Map<string, string[]>();

  add(kind: string, path: string): void {
    const list = this.byKind.get(kind) ?? [];
    list.push(path);
    this.byKind.set(kind, list);
  }

  report(logger: Logger): void {
    for (const [kind, paths] of this.byKind) {
      const shown = paths
        .slice(0, 5)
        .map((p) => `/${p}`)
        .join(', ');
      const more = paths.length > 5 ? ` and ${paths.length - 5} more` : '';
      logger.warn(
        `${paths.length} ${kind} cannot be expressed by COPY and ${paths.length === 1 ? 'is' : 'are'} left out of the build context: ${shown}${more}`,
      );
    }
  }
}

function epochSeconds(created: string): number {
  const t = Date.parse(created);
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

function cleanPath(name: string, what: string): string {
  const c = cleanEntryPath(name);
  if ('reason' in c) {
    throw new CopaError('UNSAFE_LAYER', `patch layer entry ${JSON.stringify(name)} (${what}): ${c.reason}`, {
      hint: 'the patch layer is damaged; rerun the patch',
    });
  }
  return c.path;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i === -1 ? '' : path.slice(0, i);
}

function rerooted(h: TarHeader, path: string, extra: Partial<EntryHeader>): EntryHeader {
  return {
    name: `${CONTEXT_DIR}/${path}`,
    type: 'file',
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    size: 0,
    mtime: Math.floor(h.mtime),
    ...(h.xattrs.size > 0 ? { xattrs: [...h.xattrs] } : {}),
    ...extra,
  };
}

/**
 * The context tar's bytes from the patch layer's uncompressed tar. Whiteouts and opaque markers (deletions),
 * device nodes, fifos and hardlinks to files outside the layer are left out with one warning per kind;
 * hardlinks within the layer stay links inside `patch/`.
 */
export async function* buildContext(
  layerTar: AsyncIterable<unknown>,
  opts: ContextOptions,
): AsyncGenerator<Buffer> {
  const logger = opts.logger ?? silentLogger;
  const mtime = epochSeconds(opts.created);
  const df = Buffer.from(dockerfile(opts.image, opts.created));
  yield encodeHeader({
    name: 'Dockerfile',
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: df.length,
    mtime,
  });
  yield df;
  yield padding(df.length);
  yield encodeHeader({ name: `${CONTEXT_DIR}/`, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime });

  const dropped = new Dropped();
  const files = new Set<string>();
  for await (const { header: h, body } of readTar(layerTar)) {
    const path = cleanPath(h.name, 'name');
    if (path === '') continue; // the root itself: patch/ is already there
    if (!h.utf8) {
      dropped.add('entries with names that are not UTF-8', path);
      continue;
    }
    const wh = classifyWhiteout(baseName(path));
    if (wh.kind === 'opaque') {
      dropped.add('replaced directories (opaque: their old content stays)', parentOf(path));
      continue;
    }
    if (wh.kind === 'whiteout') {
      const parent = parentOf(path);
      dropped.add('deletions (whiteouts)', parent ? `${parent}/${wh.name}` : wh.name);
      continue;
    }
    if (wh.kind !== 'none') continue; // aufs metadata, malformed whiteout names: nothing to carry
    if (h.sparse) {
      throw new CopaError(
        'UNSAFE_LAYER',
        `patch layer entry /${path} is a sparse file, which copa does not expand`,
        {
          hint: 'please report which package created it',
        },
      );
    }
    switch (h.type) {
      case 'dir':
        yield encodeHeader(rerooted(h, path, { type: 'dir' }));
        break;
      case 'symlink':
        // the target is interpreted in the image, not in the context: keep it as it is
        yield encodeHeader(rerooted(h, path, { type: 'symlink', linkname: h.linkname }));
        break;
      case 'file': {
        yield encodeHeader(rerooted(h, path, { type: 'file', size: h.size }));
        let written = 0;
        for await (const chunk of body) {
          written += chunk.length;
          yield chunk;
        }
        if (written !== h.size)
          throw new CopaError('UNSAFE_LAYER', `patch layer entry /${path} is truncated`);
        yield padding(h.size);
        files.add(path);
        break;
      }
      case 'link': {
        const target = cleanPath(h.linkname, 'hardlink target');
        if (!files.has(target)) {
          dropped.add('hardlinks to files outside the patch layer', path);
          break;
        }
        yield encodeHeader(rerooted(h, path, { type: 'link', linkname: `${CONTEXT_DIR}/${target}` }));
        break;
      }
      default:
        dropped.add('device nodes, fifos and other special files', path);
    }
  }
  dropped.report(logger);
  yield Buffer.alloc(2 * BLOCK);
}
