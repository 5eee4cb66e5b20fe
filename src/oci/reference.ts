import { CopaError } from '../errors.js';

/** An image reference normalised the way docker does: `nginx` -> docker.io/library/nginx:latest. */
export interface ImageReference {
  /** e.g. docker.io, 127.0.0.1:5000, ghcr.io */
  registry: string;
  /** e.g. library/nginx */
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
}

/** PLACEHOLDER — replaced by the full docker-compatible parser (issue 2 item 1). */
export function parseReference(input: string): ImageReference {
  throw new CopaError('REFERENCE', `reference parsing not implemented yet: ${input}`);
}
