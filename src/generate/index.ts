export { buildContext, dockerfile, CONTEXT_DIR, LABEL_PATCHED, type ContextOptions } from './context.js';
export { generate, type GenerateOptions, type GenerateOutput } from './generate.js';
