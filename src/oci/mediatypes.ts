export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  /** the empty descriptor's media type: the config of an artifact that has none (`{}`) */
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  /** artifact types of what --attach pushes (OpenVEX has no registered type: the one oras/cosign users use) */
  CycloneDx: 'application/vnd.cyclonedx+json',
  Spdx: 'application/spdx+json',
  OpenVex: 'application/vnd.openvex+json',
} as const;

export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
].join(', ');

export function isIndexMediaType(mt: string | undefined): boolean {
  return mt === MediaType.OciIndex || mt === MediaType.DockerManifestList;
}

/** An image layer (OCI or Docker, any compression, distributable or not) — not an artifact's blob. */
export function isLayerMediaType(mt: string): boolean {
  return mt.startsWith('application/vnd.oci.image.layer.') || mt.startsWith('application/vnd.docker.image.rootfs.');
}

export function isDockerMediaType(mt: string | undefined): boolean {
  return mt !== undefined && mt.startsWith('application/vnd.docker.');
}

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** Layer media type for a compression in the media-type family (OCI or Docker) of the image. */
export function layerMediaType(family: 'oci' | 'docker', compression: LayerCompression): string {
  if (family === 'docker') {
    // Docker schema2 has no zstd / uncompressed layer types in practice; docker accepts OCI types too.
    if (compression === 'gzip') return MediaType.DockerLayerGzip;
    return compression === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayer;
  }
  if (compression === 'gzip') return MediaType.OciLayerGzip;
  return compression === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayer;
}
