/**
 * Scanner plugins: `--scanner X` runs the executable `copa-X <report>` from PATH and reads a native
 * update manifest (v1alpha1 or v1alpha2) from its output. See README.md in this folder.
 *
 * Deliberate difference from Copa: Copa parses the plugin's combined stdout+stderr, so one diagnostic
 * line on stderr breaks the JSON. We parse stdout only, log stderr at debug level, and quote its last
 * line when the plugin fails.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { CopaError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { parseNativeManifest } from '../native/native.js';
import type { UpdateManifest } from '../types.js';

export const PLUGIN_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/;

/** Output larger than this is not a report: stop the plugin instead of filling memory. */
const MAX_STDOUT = 256 * 1024 * 1024;
const STDERR_TAIL = 64 * 1024;

export interface RunPluginOptions {
  logger?: Logger;
  /** Cancels the plugin (it is killed). */
  signal?: AbortSignal;
  /** Environment of the plugin process (default: this process's); its PATH is used to find the plugin. */
  env?: NodeJS.ProcessEnv;
}

interface PluginOutput {
  stdout: Buffer;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function validatePluginName(name: string): void {
  if (!PLUGIN_NAME.test(name)) {
    throw new CopaError('USAGE', `invalid scanner name ${JSON.stringify(name)}`, {
      hint: 'use trivy, native, or the name X of a plugin executable copa-X (letters, digits, _ and -)',
    });
  }
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim());
  const line = lines.filter((l) => l !== '').pop() ?? '';
  return line.length > 300 ? line.slice(0, 300) + '…' : line;
}

function execute(command: string, args: string[], opts: RunPluginOptions): Promise<PluginOutput> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let tooLarge = false;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_STDOUT) {
        tooLarge = true;
        child.kill('SIGKILL');
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (tooLarge) {
        fail(new CopaError('REPORT', `${command} printed more than ${MAX_STDOUT} bytes`));
        return;
      }
      done({ stdout: Buffer.concat(chunks), stderr, code, signal });
    });
  });
}

function spawnError(err: unknown, name: string, command: string): CopaError {
  if (err instanceof CopaError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.name === 'AbortError') {
    return new CopaError('CANCELLED', `scanner ${name} was cancelled`, { cause: err });
  }
  if (e.code === 'ENOENT') {
    return new CopaError('ENVIRONMENT', `error running scanner ${name}: ${command} was not found on PATH`, {
      hint: `install the plugin as an executable named ${command} in a directory on PATH, or use --scanner trivy`,
      cause: err,
    });
  }
  return new CopaError('ENVIRONMENT', `error running scanner ${name}: ${e.message}`, {
    hint: `check that ${command} is an executable file`,
    cause: err,
  });
}

/** Run scanner plugin `copa-<name>` on `reportPath` and convert its output. */
export async function runPlugin(
  name: string,
  reportPath: string,
  opts: RunPluginOptions = {},
): Promise<UpdateManifest> {
  validatePluginName(name);
  const logger = opts.logger ?? silentLogger;
  const command = `copa-${name}`;
  // An absolute path can never be mistaken for an option by the plugin.
  const args = [resolve(reportPath)];
  logger.debug(`running scanner plugin: ${command} ${args[0] ?? ''}`);

  let out: PluginOutput;
  try {
    out = await execute(command, args, opts);
  } catch (err) {
    throw spawnError(err, name, command);
  }
  for (const line of out.stderr.split('\n')) if (line.trim() !== '') logger.debug(`${command}: ${line}`);

  if (out.code !== 0) {
    const how = out.signal !== null ? `was killed by ${out.signal}` : `exited with code ${out.code ?? '?'}`;
    const why = lastLine(out.stderr);
    throw new CopaError(
      'REPORT',
      `error running scanner ${name}: ${command} ${how}${why ? `: ${why}` : ''}`,
      {
        hint: `run \`${command} ${args[0] ?? ''}\` yourself to see its full output`,
      },
    );
  }

  let json: unknown;
  try {
    json = JSON.parse(out.stdout.toString('utf8').replace(/^\uFEFF/, '')) as unknown;
  } catch (e) {
    throw new CopaError('REPORT', `error parsing output of scanner ${name}: ${(e as Error).message}`, {
      hint: 'a scanner plugin must print exactly one v1alpha1 or v1alpha2 JSON document on stdout',
      cause: e,
    });
  }
  return parseNativeManifest(json, `output of scanner ${name}`, 'plugin');
}
