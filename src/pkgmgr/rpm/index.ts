/** RPM-family images: pick the strategy from the image's facts (COPA-BEHAVIOUR §2.6). */
import { CopaError } from '../../errors.js';
import type { PackageManager } from '../types.js';
import { dnfChrootManager } from './chroot.js';
import { inImageRpmManager } from './inimage.js';
import { chooseRpmStrategy, type RpmFacts, type RunFacts } from './probe.js';
import { zypperChrootManager } from './zypper.js';

export {
  checkOracleReport,
  readRpmFacts,
  RPM_TYPES,
  type ImageFiles,
  type RpmFacts,
  type RunFacts,
} from './probe.js';
export { inImageRpmManager } from './inimage.js';

export function rpmManager(
  os: { type: string; version: string },
  facts: RpmFacts,
  run: RunFacts,
): PackageManager {
  const strategy = chooseRpmStrategy(os, facts, run);
  switch (strategy.kind) {
    case 'in-image':
      return inImageRpmManager(strategy.tool);
    case 'dnf-chroot':
      return dnfChrootManager(os);
    case 'zypper-chroot':
      return zypperChrootManager;
    case 'manifests':
      throw new CopaError(
        'UNSUPPORTED_OS',
        `${os.type} ${os.version} distroless images (rpmmanifest only, no rpm database) are not supported yet`,
        {
          hint: 'patch the non-distroless variant of the image, or rebuild it from a base that has tdnf',
        },
      );
  }
}
