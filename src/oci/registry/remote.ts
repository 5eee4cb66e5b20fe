import type { Readable } from 'node:stream';
import { CopaError } from '../../errors.js';
import type { Descriptor, Image, ImageConfig, ImageIndex, Index, Layer, Manifest } from '../image.js';
import { isIndexMediaType, MediaType } from '../mediatypes.js';
import type { ImageReference } from '../reference.js';
import { ImageConfigSchema, IndexSchema, ManifestSchema, parseJson } from '../schemas.js';
import type { ManifestResult, RegistryClient } from './client.js';
import { repoName, type Repo } from './hosts.js';

export type RemoteResult =
  { kind: 'image'; image: Image } | { kind: 'index'; index: ImageIndex; digest: string };

/** Fetch what a reference names: an image, or an index (resolve a child with `index.image(desc)`). */
export async function fetchRemote(client: RegistryClient, ref: ImageReference): Promise<RemoteResult> {
  const repo: Repo = { registry: ref.registry, repository: ref.repository };
  const fetched = await client.getManifest(repo, ref.digest ?? ref.tag ?? 'latest');
  imageMediaType(repo, fetched);
  if (isIndexMediaType(fetched.mediaType)) {
    return { kind: 'index', index: new RemoteIndex(client, repo, fetched), digest: fetched.digest };
  }
  return { kind: 'image', image: new RemoteImage(client, repo, fetched) };
}

const IMAGE_MANIFEST_TYPES: ReadonlySet<string> = new Set([
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
]);

/** Refuse what is not an image manifest or index (an artifact, a Docker schema 1 manifest, a made-up type). */
function imageMediaType(repo: Repo, fetched: ManifestResult): void {
  if (IMAGE_MANIFEST_TYPES.has(fetched.mediaType)) return;
  throw new CopaError(
    'REGISTRY',
    `${repoName(repo)}@${fetched.digest} has media type ${JSON.stringify(fetched.mediaType.slice(0, 100))}, not an image manifest or index`,
    { hint: 'name an image (OCI or Docker schema 2); Docker schema 1 images must be re-pushed with a current tool' },
  );
}

/** Memoise a promise-returning function; a failure is not remembered, so the next call tries again. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= fn().catch((err: unknown) => {
      p = undefined;
      throw err;
    });
    return p;
  };
}

const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set([MediaType.OciConfig, MediaType.DockerConfig]);

/** An image in a registry: manifest already fetched, config fetched once on demand, layers streamed. */
export class RemoteImage implements Image {
  readonly mediaType: string;
  readonly source: Repo;
  private readonly bytes: Buffer;
  private readonly manifestDigest: string;
  private readonly parsed: Manifest;

  constructor(
    private readonly client: RegistryClient,
    repo: Repo,
    fetched: ManifestResult,
  ) {
    this.source = { registry: repo.registry, repository: repo.repository };
    this.mediaType = fetched.mediaType;
    this.bytes = fetched.bytes;
    this.manifestDigest = fetched.digest;
    this.parsed = parseJson(ManifestSchema, fetched.bytes, `manifest ${repoName(repo)}@${fetched.digest}`);
  }

  rawManifest(): Promise<Buffer> {
    return Promise.resolve(this.bytes);
  }

  manifest(): Promise<Manifest> {
    return Promise.resolve(this.parsed);
  }

  digest(): Promise<string> {
    return Promise.resolve(this.manifestDigest);
  }

  readonly rawConfig = once(async () => {
    const desc = this.parsed.config;
    const bytes = await this.client.getBlobBytes(this.source, desc.digest);
    if (bytes.length !== desc.size) {
      throw new CopaError(
        'DIGEST_MISMATCH',
        `config ${desc.digest} of ${repoName(this.source)} is ${bytes.length} bytes, the manifest says ${desc.size}`,
      );
    }
    return bytes;
  });

  readonly config = once(async (): Promise<ImageConfig> => {
    return parseJson(
      ImageConfigSchema,
      await this.rawConfig(),
      `config of ${repoName(this.source)}@${this.manifestDigest}`,
    );
  });

  readonly layers = once(async (): Promise<Layer[]> => {
    const descs = this.parsed.layers;
    let diffIDs: string[];
    if (IMAGE_CONFIG_TYPES.has(this.parsed.config.mediaType)) {
      diffIDs = (await this.config()).rootfs.diff_ids;
      if (diffIDs.length !== descs.length) {
        throw new CopaError(
          'REGISTRY',
          `image ${repoName(this.source)}@${this.manifestDigest} has ${descs.length} layers but ${diffIDs.length} diff_ids`,
          { hint: 'the image is malformed; rebuild or re-push it' },
        );
      }
    } else {
      // an artifact (attestation, signature): its blobs are stored uncompressed, so diffID = digest
      diffIDs = descs.map((d) => d.digest);
    }
    return descs.map((desc, i) => new RemoteLayer(this.client, this.source, desc, diffIDs[i] ?? desc.digest));
  });
}

/** A layer blob in a registry; nothing is fetched until `compressed()`. */
export class RemoteLayer implements Layer {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;

  constructor(
    private readonly client: RegistryClient,
    private readonly repo: Repo,
    readonly descriptor: Descriptor,
    readonly diffID: string,
  ) {
    this.digest = descriptor.digest;
    this.size = descriptor.size;
    this.mediaType = descriptor.mediaType;
  }

  compressed(): Promise<Readable> {
    return this.client.getBlob(this.repo, this.digest, this.size);
  }
}

/** An index (or Docker manifest list) in a registry; children fetched by digest. */
export class RemoteIndex implements ImageIndex {
  readonly mediaType: string;
  private readonly bytes: Buffer;
  private readonly indexDigest: string;
  private readonly parsed: Index;

  constructor(
    private readonly client: RegistryClient,
    private readonly repo: Repo,
    fetched: ManifestResult,
  ) {
    this.mediaType = fetched.mediaType;
    this.bytes = fetched.bytes;
    this.indexDigest = fetched.digest;
    this.parsed = parseJson(IndexSchema, fetched.bytes, `index ${repoName(repo)}@${fetched.digest}`);
  }

  rawManifest(): Promise<Buffer> {
    return Promise.resolve(this.bytes);
  }

  index(): Promise<Index> {
    return Promise.resolve(this.parsed);
  }

  digest(): Promise<string> {
    return Promise.resolve(this.indexDigest);
  }

  async image(desc: Descriptor): Promise<Image> {
    if (isIndexMediaType(desc.mediaType)) {
      throw new CopaError(
        'REGISTRY',
        `${repoName(this.repo)}@${desc.digest} is a nested index, not an image`,
        {
          hint: 'nested indexes are not supported; name the inner index directly',
        },
      );
    }
    const fetched = await this.client.getManifest(this.repo, desc.digest);
    if (fetched.bytes.length !== desc.size) {
      throw new CopaError(
        'DIGEST_MISMATCH',
        `manifest ${repoName(this.repo)}@${desc.digest} is ${fetched.bytes.length} bytes, the index says ${desc.size}`,
      );
    }
    imageMediaType(this.repo, fetched);
    if (isIndexMediaType(fetched.mediaType)) {
      throw new CopaError(
        'REGISTRY',
        `${repoName(this.repo)}@${desc.digest} is a nested index, not an image`,
        {
          hint: 'nested indexes are not supported; name the inner index directly',
        },
      );
    }
    return new RemoteImage(this.client, this.repo, fetched);
  }
}
