/** RPM-family images: pick the strategy from the image's facts (COPA-BEHAVIOUR §2.6). */
import { CopaError } from '../../errors.js';
import type { PackageManager } from '../types.js';
import { dnfChrootManager } from './chroot.js';
import { inImageRpmManager } from './inimage.js';
import { marinerDistrolessManager } from './manifest.js';
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
      if (os.type !== 'cbl-mariner' && os.type !== 'azurelinux') {
        throw new CopaError(
          'UNSUPPORTED_OS',
          `${os.type} ${os.version}: an image with rpmmanifest files but no rpm database`,
          {
            hint: 'only CBL-Mariner and Azure Linux distroless images carry rpmmanifest files',
          },
        );
      }
      return marinerDistrolessManager(os);
  }
}
