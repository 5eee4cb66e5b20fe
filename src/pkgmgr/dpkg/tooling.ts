/**
 * Tooling images for Debian-family images without apt/dpkg (Copa §2.4): Copa's mirror first, Docker Hub after.
 * Copa compares the Debian version with "12" as a string ("9" > "12" → stable-slim); we compare numbers.
 */
const MIRROR = 'ghcr.io/project-copacetic/copacetic';

export function debianToolingTag(os: { type: string; version: string }): string {
  if (os.type === 'ubuntu') return `ubuntu:${os.version}`;
  const major = Number.parseInt(os.version, 10);
  if (!Number.isFinite(major) || major > 12) return 'debian:stable-slim';
  return `debian:${major}-slim`;
}

export function debianToolingImages(os: { type: string; version: string }): string[] {
  const tag = debianToolingTag(os);
  return [`${MIRROR}/${tag}`, `docker.io/library/${tag}`];
}
