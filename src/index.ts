export { CopaError, type ErrorCode } from './errors.js';
