export { readOciLayout, layoutImage } from './read.js';
export { writeOciLayout, type LayoutEntry, type WriteLayoutOptions } from './write.js';
export { REF_NAME, isValidRefName } from './common.js';
