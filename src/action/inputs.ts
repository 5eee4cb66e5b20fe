/**
 * The CI action wrapper (action.yml): the copa-action's inputs, read from INPUT_* variables, turned into a
 * `copa patch` argv. Pure functions.
 */
import { z } from 'zod';
import { CopaError } from '../errors.js';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** The action's inputs (names as in action.yml; empty strings are "not given", as on GitHub). */
export const ActionInputsSchema = z.object({
  image: z.string({ error: 'required (the image to patch)' }),
  report: z.string().optional(),
  patchedTag: z.string().optional(),
  timeout: z.string().default('5m'),
  output: z.string().optional(),
  format: z.string().default('openvex'),
  customSocket: z.string().optional(),
  engine: z.enum(['native', 'buildkit']).optional(),
  push: flag.default(false),
});
export type ActionInputs = z.output<typeof ActionInputsSchema>;

/** input name in action.yml → field */
export const INPUT_NAMES: Record<string, keyof ActionInputs> = {
  image: 'image',
  'image-report': 'report',
  report: 'report',
  'patched-tag': 'patchedTag',
  timeout: 'timeout',
  output: 'output',
  format: 'format',
  'custom-socket': 'customSocket',
  engine: 'engine',
  push: 'push',
};

/**
 * One input as the runners pass it: GitHub's `INPUT_<NAME>` (upper case, `-` kept), or with `_` for `-`
 * (GitLab and shells cannot name a variable with `-`). Trimmed; empty means not given.
 */
export function getInput(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const upper = name.toUpperCase();
  for (const key of [`INPUT_${upper}`, `INPUT_${upper.replaceAll('-', '_')}`]) {
    const value = env[key]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** Read and check every input; a bad one is a USAGE error naming the input. */
export function readInputs(env: NodeJS.ProcessEnv): ActionInputs {
  const raw: Record<string, string> = {};
  for (const [name, field] of Object.entries(INPUT_NAMES)) {
    const value = getInput(env, name);
    if (value === undefined) continue;
    const earlier = raw[field];
    if (earlier !== undefined && earlier !== value) {
      throw new CopaError('USAGE', `inputs image-report and report disagree (${earlier} / ${value})`, {
        hint: 'give the report once, as image-report',
      });
    }
    raw[field] = field === 'push' ? value.toLowerCase() : value;
  }
  const parsed = ActionInputsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? 'image');
    const name = Object.keys(INPUT_NAMES).find((n) => INPUT_NAMES[n] === field) ?? field;
    throw new CopaError('USAGE', `action input ${name}: ${issue?.message ?? 'invalid'}`, {
      hint: 'see the inputs of action.yml (push: true or false; engine: native or buildkit)',
    });
  }
  return parsed.data;
}

/**
 * The copa-action's custom-socket is a Docker socket path: a bare path becomes Copa's `docker://unix://PATH`
 * address; a value with a scheme (unix://, tcp://, buildx://, ...) is passed as it is.
 */
export function socketAddress(socket: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(socket)) return socket;
  if (!socket.startsWith('/')) {
    throw new CopaError(
      'USAGE',
      `action input custom-socket: ${socket} is neither an address nor an absolute path`,
      {
        hint: 'give the Docker socket path (e.g. /var/run/docker.sock) or a BuildKit address (unix://…, tcp://…)',
      },
    );
  }
  return `docker://unix://${socket}`;
}

/** The `copa patch` argv for these inputs (always --json: the wrapper reads the result from it). */
export function copaArgv(inputs: ActionInputs): string[] {
  const argv = ['patch', '-i', inputs.image];
  if (inputs.report) argv.push('-r', inputs.report);
  if (inputs.patchedTag) argv.push('-t', inputs.patchedTag);
  argv.push('--timeout', inputs.timeout);
  if (inputs.output) argv.push('-f', inputs.format, '-o', inputs.output);
  if (inputs.customSocket) argv.push('--addr', socketAddress(inputs.customSocket));
  if (inputs.engine) argv.push('--engine', inputs.engine);
  if (inputs.push) argv.push('--push');
  argv.push('--json');
  return argv;
}
