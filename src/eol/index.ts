export {
  backoffDelay,
  checkEol,
  EOL_BACKOFF,
  EOL_TIMEOUT_MS,
  EOL_USER_AGENT,
  eolError,
  eolUrl,
  eolWarning,
  systemClock,
  type EolClock,
  type EolFetch,
  type EolHttpResponse,
  type EolOptions,
  type EolResult,
  type OsRelease,
} from './check.js';
export { eolTarget, type EolTarget } from './normalize.js';
