#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { CopaError } from '../errors.js';
import { cacheCommand } from './cache.js';
import { completionCommand } from './completion.js';
import { exitCodeFor, formatError, jsonError } from './exit.js';
import { interruptedBy } from './interrupt.js';
import { generateCommand } from './generate.js';
import { patchCommand } from './patch.js';
import { planCommand } from './plan.js';
import { referrersCommand } from './referrers.js';
import { runRootless } from './rootless.js';

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
  program.addCommand(referrersCommand().exitOverride());
  program.addCommand(completionCommand(() => program).exitOverride());
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    const json = argv.includes('--json');
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      const exitCode = (err as { exitCode?: number }).exitCode ?? 2;
      const ok = code === 'commander.helpDisplayed' || code === 'commander.version' || exitCode === 0;
      if (!ok && json) writeJsonError(usageError(err), 2);
      return ok ? 0 : 2;
    }
    if (err instanceof CopaError && err.code === 'NO_UPDATES') {
      process.stderr.write('Image is already up-to-date. No patch was applied.\n');
      return 0;
    }
    process.stderr.write(formatError(err, globals().debug) + '\n');
    const exitCode = exitCodeFor(err, interruptedBy());
    // a bulk run that failed jobs has printed its summary (the JSON of every job) already
    const summarized =
      err instanceof CopaError && (err.code === 'JOBS_FAILED' || err.code === 'JOBS_RETRYABLE');
    if (json && !summarized) writeJsonError(err, exitCode);
    return exitCode;
  }
}

/** commander's own message ("error: unknown option '--x'"), as a USAGE error. */
function usageError(err: unknown): CopaError {
  const text = err instanceof Error ? err.message.replace(/^error: /, '') : String(err);
  return new CopaError('USAGE', text, { hint: 'see --help' });
}

/** --json: the failure as a JSON object on stdout too, so scripts need not parse stderr. */
function writeJsonError(err: unknown, exitCode: number): void {
  process.stdout.write(JSON.stringify(jsonError(err, exitCode), null, 2) + '\n');
}

// `copa ... | head` closes stdout early: that is not an error
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});

(runRootless(process.argv) ?? main(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(formatError(err, true) + '\n');
    process.exitCode = 1;
  },
);
