/**
 * The BuildKit engine: the same patch over a BuildKit daemon (`--addr`), as the original tool runs it. The
 * daemon pulls the image, runs the package manager as exec ops and exports the diff; the shared core plans,
 * validates, writes the one layer and delivers the image exactly as with the native engine. This file stays
 * light: gRPC and the protocol (./connect.ts) load only when a run uses the engine.
 */
import { CopaError } from '../../errors.js';
import { createWorkDir, keepWorkDir, removeWorkDir } from '../native/workdir.js';
import type { Engine, ImageRoot, ImageRootOptions } from '../types.js';
import type { BuildkitOptions, Connection } from './connect.js';

export type { BuildkitOptions } from './connect.js';

const heavy = () => import('./connect.js');

export function buildkitEngine(opts: BuildkitOptions): Engine {
  let conn: Connection | undefined;
  return {
    name: 'buildkit',
    pullsImages: true,
    check: () => undefined,
    checkPlatform: () => Promise.resolve(),
    platformHint: () => Promise.resolve(undefined),
    createWorkDir,
    keepWorkDir,
    removeWorkDir,
    async prepare(logger) {
      conn ??= await (await heavy()).firstConnection(opts, logger);
    },
    async close() {
      const c = conn;
      conn = undefined;
      if (c) await (await heavy()).closeConnection(c);
    },
    async openImageRoot(root: ImageRootOptions): Promise<ImageRoot> {
      if (!conn) throw new CopaError('INTERNAL', 'the BuildKit engine was used before prepare()');
      return (await heavy()).openRoot(conn, root);
    },
  };
}
