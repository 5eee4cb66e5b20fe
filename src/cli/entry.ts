#!/usr/bin/env node
/**
 * The `copa` command. A single-image patch on the native engine needs the sandbox child soon; it starts now,
 * before the CLI's own modules load (see src/engine/native/spawn.ts), then the CLI runs.
 */
import { prebootSandbox, wantsPreboot } from '../engine/native/spawn.js';

if (wantsPreboot(process.argv.slice(2))) prebootSandbox();
await import('./main.js');
