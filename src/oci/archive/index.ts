export {
  archiveRepoTags,
  dockerArchiveManifest,
  writeDockerArchive,
  type DockerArchiveManifestEntry,
} from './docker.js';
