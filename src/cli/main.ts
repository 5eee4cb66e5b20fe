#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { CopaError } from '../errors.js';
import { cacheCommand } from './cache.js';
import { exitCodeFor, formatError } from './exit.js';
import { generateCommand } from './generate.js';
import { patchCommand } from './patch.js';
import { planCommand } from './plan.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('copa')
    .description(
      'Patch vulnerable OS packages in container images without rebuilding them (no daemon needed)',
    )
    .version(version(), '-v, --version')
    .option('--debug', 'debug output (keeps the work dir)', false)
    .showHelpAfterError()
    .exitOverride();
  const globals = (): { debug: boolean } => program.opts<{ debug: boolean }>();
  program.addCommand(patchCommand(globals).exitOverride());
  program.addCommand(generateCommand(globals).exitOverride());
  program.addCommand(planCommand(globals).exitOverride());
  program.addCommand(cacheCommand().exitOverride());
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      const exitCode = (err as { exitCode?: number }).exitCode ?? 2;
      return code === 'commander.helpDisplayed' || code === 'commander.version' || exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CopaError && err.code === 'NO_UPDATES') {
      process.stderr.write('Image is already up-to-date. No patch was applied.\n');
      return 0;
    }
    process.stderr.write(formatError(err, globals().debug) + '\n');
    return exitCodeFor(err);
  }
}

// `copa ... | head` closes stdout early: that is not an error
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(formatError(err, true) + '\n');
    process.exitCode = 1;
  },
);
