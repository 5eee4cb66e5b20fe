export {
  MAX_PACKAGE_NAME_LENGTH,
  PACKAGE_NAME_PATTERN,
  validatePackageName,
  validatePackageNames,
} from './names.js';
export {
  uniqueLatestUpdates,
  validateInstalled,
  type InstallCheck,
  type InstallFailure,
  type UpdateCheckOptions,
} from './updates.js';
