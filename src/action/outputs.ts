/** The CI action wrapper's step outputs: read from the copa result, written in the GITHUB_OUTPUT format. */
import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { CopaError } from '../errors.js';

/** The patched image named by `copa patch --json` output, if the run wrote one. */
export function patchedImageOf(stdout: string): string {
  try {
    const result = JSON.parse(stdout) as { patchedImage?: unknown };
    return typeof result.patchedImage === 'string' ? result.patchedImage : '';
  } catch {
    return '';
  }
}

/**
 * Step outputs in the GITHUB_OUTPUT file format: `name=value` lines; a value with a line break uses the
 * `name<<DELIMITER` form with a delimiter that cannot occur in it.
 */
export function formatOutputs(outputs: Record<string, string>, delimiter = `copa_${randomUUID()}`): string {
  return Object.entries(outputs)
    .map(([name, value]) => {
      if (!/[\r\n]/.test(value)) return `${name}=${value}\n`;
      if (value.includes(delimiter)) throw new CopaError('INTERNAL', `output ${name} contains its delimiter`);
      return `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
    })
    .join('');
}

/**
 * Append the outputs to the file GITHUB_OUTPUT names (the runner owns it and reads it after the step, so
 * append as its other writers do); without one, print them on stderr.
 */
export async function writeOutputs(outputs: Record<string, string>, env: NodeJS.ProcessEnv): Promise<void> {
  const text = formatOutputs(outputs);
  const file = env.GITHUB_OUTPUT;
  if (file) await appendFile(file, text);
  else process.stderr.write(`outputs (no GITHUB_OUTPUT file):\n${text}`);
}
