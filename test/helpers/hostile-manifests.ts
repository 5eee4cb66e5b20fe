import { gzipSync } from 'node:zlib';
import { sha256, type HostileRegistry } from './hostile-registry.js';

/** Manifests, indexes and configs built to hurt a client, served under `<name>:1` by a HostileRegistry. */

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** one empty tar, gzipped: a real layer */
const EMPTY_TAR = Buffer.alloc(1024);
const LAYER = gzipSync(EMPTY_TAR);

function config(diffIDs: unknown): string {
  return JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: diffIDs },
  });
}

export function hostileManifests(r: HostileRegistry): void {
  const goodConfig = (repo: string, layers = 1) => {
    const body = config(Array.from({ length: layers }, () => sha256(EMPTY_TAR)));
    return { mediaType: OCI_CONFIG, digest: r.blob(repo, body), size: body.length };
  };
  const layerDesc = (repo: string) => ({
    mediaType: OCI_LAYER,
    digest: r.blob(repo, LAYER),
    size: LAYER.length,
  });
  const manifest = (repo: string, m: Record<string, unknown>, mediaType = OCI_MANIFEST) =>
    r.manifest(repo, '1', JSON.stringify({ schemaVersion: 2, mediaType, ...m }), mediaType);
  const cfgDesc = (digest: string, size: number) => ({ mediaType: OCI_CONFIG, digest, size });

  // an artifact of a made-up type that otherwise looks like an image manifest
  manifest(
    'wrongtype',
    { config: goodConfig('wrongtype'), layers: [layerDesc('wrongtype')] },
    'application/vnd.example.thing+json',
  );
  // Docker schema 1 (signed), long unsupported everywhere
  r.manifest(
    'schema1',
    '1',
    JSON.stringify({ schemaVersion: 1, name: 'schema1', tag: '1', fsLayers: [], history: [] }),
    'application/vnd.docker.distribution.manifest.v1+prettyjws',
  );
  // 5 MiB of annotations
  manifest('huge', {
    config: goodConfig('huge'),
    layers: [layerDesc('huge')],
    annotations: { pad: 'x'.repeat(5 * 1024 * 1024) },
  });
  // 100,000 levels of arrays in an annotation-like field
  r.manifest(
    'deep',
    '1',
    `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","layers":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    OCI_MANIFEST,
  );
  r.manifest('garbage', '1', Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22]), OCI_MANIFEST);
  // 10,000 layers (all the same empty one)
  {
    const d = layerDesc('manylayers');
    manifest('manylayers', {
      config: goodConfig('manylayers', 10_000),
      layers: Array.from({ length: 10_000 }, () => d),
    });
  }
  // a digest that would be a path if it were joined into a cache dir
  manifest('pathdigest', {
    config: goodConfig('pathdigest'),
    layers: [{ mediaType: OCI_LAYER, digest: 'sha256:../../../../sentinel/keep', size: 10 }],
  });
  manifest('layertype', {
    config: goodConfig('layertype'),
    layers: [{ ...layerDesc('layertype'), mediaType: 'application/vnd.example.not-a-layer' }],
  });
  manifest('negsize', {
    config: goodConfig('negsize'),
    layers: [{ ...layerDesc('negsize'), size: -1 }],
  });
  {
    // the config is served under a digest its bytes do not have
    const body = config([sha256(EMPTY_TAR)]);
    const wrong = sha256('something else');
    r.blob('configdigest', body, wrong);
    manifest('configdigest', { config: cfgDesc(wrong, body.length), layers: [layerDesc('configdigest')] });
  }
  {
    const body = Buffer.alloc(40 * 1024 * 1024, 0x20);
    manifest('hugeconfig', {
      config: cfgDesc(r.blob('hugeconfig', body), body.length),
      layers: [layerDesc('hugeconfig')],
    });
  }
  {
    const body = config('sha256:not-a-list');
    manifest('configtypes', {
      config: cfgDesc(r.blob('configtypes', body), body.length),
      layers: [layerDesc('configtypes')],
    });
  }
  {
    const body = config([]);
    manifest('diffids', {
      config: cfgDesc(r.blob('diffids', body), body.length),
      layers: [layerDesc('diffids')],
    });
  }
  {
    // an index whose only entry is an index that lists itself: its digest is fixed by serving the inner
    // index under a chosen digest (a registry would refuse; this one does not check)
    const loop = 'sha256:' + 'ab'.repeat(32);
    const inner = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_INDEX, digest: loop, size: 300, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    });
    r.manifest('selfindex', 'inner', inner, OCI_INDEX, loop);
    r.manifest(
      'selfindex',
      '1',
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          {
            mediaType: OCI_INDEX,
            digest: loop,
            size: inner.length,
            platform: { os: 'linux', architecture: 'amd64' },
          },
        ],
      }),
      OCI_INDEX,
    );
  }
  {
    const manifests = Array.from({ length: 10_000 }, (_, i) => ({
      mediaType: OCI_MANIFEST,
      digest: sha256(`missing ${i}`),
      size: 100,
      platform: { os: 'linux', architecture: `arch${i}` },
    }));
    r.manifest(
      'bigindex',
      '1',
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }),
      OCI_INDEX,
    );
  }
}
