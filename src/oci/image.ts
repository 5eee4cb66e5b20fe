import type { Readable } from 'node:stream';
import type { Descriptor, ImageConfig, Index, Manifest, Platform } from './schemas.js';

/**
 * The image model (go-containerregistry's shape): small, lazy interfaces. Sources (registry, OCI
 * layout) produce them; mutate.ts derives new ones; sinks (registry push, OCI layout, docker-archive)
 * consume them. Nothing here knows about patching.
 */
export interface Layer {
  /** digest of the blob as stored (compressed) */
  readonly digest: string;
  /** digest of the uncompressed tar */
  readonly diffID: string;
  readonly size: number;
  readonly mediaType: string;
  /** annotations / urls of the original descriptor, kept when re-serialised */
  readonly descriptor: Descriptor;
  /** the stored bytes, digest-verified while streaming (a mismatch errors the stream) */
  compressed(): Promise<Readable>;
}

export interface Image {
  /** media type of the manifest (OCI or Docker family) */
  readonly mediaType: string;
  rawManifest(): Promise<Buffer>;
  manifest(): Promise<Manifest>;
  /** digest of rawManifest() */
  digest(): Promise<string>;
  rawConfig(): Promise<Buffer>;
  config(): Promise<ImageConfig>;
  layers(): Promise<Layer[]>;
  /**
   * Where blobs of this image can be cross-mounted from when pushing to the same registry
   * (`registry/repository` of the source), if known.
   */
  readonly source?: { registry: string; repository: string } | undefined;
}

export interface ImageIndex {
  readonly mediaType: string;
  rawManifest(): Promise<Buffer>;
  index(): Promise<Index>;
  digest(): Promise<string>;
  /** the child image for a descriptor of this index */
  image(desc: Descriptor): Promise<Image>;
}

export type { Descriptor, ImageConfig, Index, Manifest, Platform };
