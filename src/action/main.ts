#!/usr/bin/env node
/**
 * The CI action wrapper's entry (action.yml runs it): INPUT_* variables → `copa patch … --json` (the CLI of
 * this same package, in a child process) → step outputs `patched-image` and `exit-code` appended to
 * $GITHUB_OUTPUT. Exits with copa's exit code, so a failed patch fails the step.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exitCodeFor, formatError } from '../cli/exit.js';
import { copaArgv, readInputs } from './inputs.js';
import { patchedImageOf, writeOutputs } from './outputs.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** Run the CLI; its progress and errors go to our stderr, its JSON result is returned (and echoed). */
function runCopa(argv: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    // its own process group: a cancel signal reaches copa once, through `forward`, not twice
    const child = spawn(process.execPath, [CLI, ...argv], {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      process.stdout.write(d);
    });
    // a cancelled job: copa cleans up on the first SIGINT/SIGTERM (a second one makes it quit at once)
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve({ code: code ?? (signal ? 130 : 1), stdout });
    });
  });
}

async function main(): Promise<number> {
  let argv: string[];
  try {
    argv = copaArgv(readInputs(process.env));
  } catch (err) {
    process.stderr.write(formatError(err, false) + '\n');
    const code = exitCodeFor(err);
    await writeOutputs({ 'patched-image': '', 'exit-code': String(code) }, process.env);
    return code;
  }
  process.stderr.write(`copa ${argv.join(' ')}\n`);
  const { code, stdout } = await runCopa(argv);
  const image = code === 0 ? patchedImageOf(stdout) : '';
  await writeOutputs({ 'patched-image': image, 'exit-code': String(code) }, process.env);
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(formatError(err, true) + '\n');
    process.exitCode = 1;
  },
);
