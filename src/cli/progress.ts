/**
 * What a person sees while a patch runs. On a terminal: one live line per phase and platform (spinner,
 * what it does, bytes or packages so far, elapsed time), redrawn with log-update — chosen over listr2
 * because the phases are driven by events from the core, not by tasks the renderer would own, and
 * log-update only redraws the lines it printed (messages scroll above them). Elsewhere (CI logs,
 * `--progress plain`, `--debug`): plain lines with a UTC time stamp. `--progress quiet`: nothing but
 * warnings and the final result. NO_COLOR turns colors off.
 */
import { createLogUpdate } from 'log-update';
import type { Logger } from '../log.js';
import type { ProgressEvent, ProgressSink } from '../patch/phases.js';
import type { ProgressMode } from './logger.js';

/** What a phase is called while it runs (the finished phase keeps its own name). */
const RUNNING: Record<string, string> = {
  'layers ready': 'pulling and extracting layers',
  'package lists updated': 'updating package lists',
  simulation: 'planning (package manager simulation)',
  'packages downloaded': 'downloading packages',
  'packages installed': 'installing packages',
  'libraries updated': 'updating libraries',
  'layer written': 'writing the new layer',
  'image delivered': 'delivering the image',
};

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Display {
  logger: Logger;
  progress: ProgressSink | undefined;
  /** stop redrawing (the final summary is printed after) */
  close(): void;
}

interface Line {
  platform: string;
  phase: string;
  state: ProgressEvent['state'];
  detail?: string;
  started: number;
  seconds?: number;
}

export function stamp(now = new Date()): string {
  return `[${now.toISOString().slice(11, 19)}]`;
}

function colors(enabled: boolean) {
  const c = (code: number) => (s: string) => (enabled ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { green: c(32), yellow: c(33), red: c(31), cyan: c(36), dim: c(2) };
}

export function createDisplay(
  mode: ProgressMode,
  debug: boolean,
  out: NodeJS.WriteStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Display {
  const color = colors(env.NO_COLOR === undefined && (mode === 'tty' || out.isTTY === true));
  // a terminal of unknown size (0 columns: a pty nobody sized) cannot hold live lines: plain lines then
  const sized = (out.columns ?? 0) > 0;
  const tty = !debug && sized && (mode === 'tty' || (mode === 'auto' && out.isTTY === true));
  const write = (s: string): void => void out.write(s + '\n');
  const debugLine = (m: string): void => {
    if (debug) write(`${stamp()} debug: ${m}`);
  };
  if (!tty) {
    const quiet = mode === 'quiet';
    const lastUpdate = new Map<string, number>();
    return {
      logger: {
        debug: debugLine,
        info: (m) => {
          if (!quiet) write(`${stamp()} ${m}`);
        },
        warn: (m) => write(`${stamp()} warning: ${m}`),
      },
      progress: quiet
        ? undefined
        : (e) => {
            const key = `${e.platform} ${e.phase}`;
            if (e.state === 'update') {
              // a CI log gets a progress line at most every 10 s per phase
              const now = Date.now();
              if (now - (lastUpdate.get(key) ?? 0) < 10_000) return;
              lastUpdate.set(key, now);
              write(`${stamp()} ${e.platform} ${RUNNING[e.phase] ?? e.phase}: ${e.detail ?? ''}`);
            } else if (e.state === 'done' || e.state === 'fail') {
              const how = e.state === 'fail' ? 'failed after' : 'in';
              write(`${stamp()} ${e.platform} ${e.phase} ${how} ${(e.seconds ?? 0).toFixed(1)}s`);
            } else lastUpdate.set(key, Date.now());
          },
      close: () => {},
    };
  }

  const region = createLogUpdate(out);
  const lines: Line[] = [];
  let frame = 0;
  const render = (): void => {
    const now = Date.now();
    region(
      lines
        .map((l) => {
          const secs = (l.seconds ?? (now - l.started) / 1000).toFixed(1);
          if (l.state === 'done')
            return `${color.green('✔')} ${l.platform}  ${l.phase} ${color.dim(`${secs}s`)}`;
          if (l.state === 'fail')
            return `${color.red('✖')} ${l.platform}  ${l.phase} failed ${color.dim(`${secs}s`)}`;
          const detail = l.detail ? `  ${l.detail}` : '';
          return `${color.cyan(SPINNER[frame % SPINNER.length] ?? '-')} ${l.platform}  ${RUNNING[l.phase] ?? l.phase}${detail} ${color.dim(`${secs}s`)}`;
        })
        .join('\n'),
    );
  };
  const timer = setInterval(() => {
    frame++;
    if (lines.some((l) => l.state === 'start' || l.state === 'update')) render();
  }, 100);
  timer.unref();
  /** a message scrolls above the live lines */
  const message = (s: string): void => {
    region.clear();
    write(s);
    render();
  };
  return {
    logger: {
      debug: debugLine,
      info: (m) => message(`${color.cyan('•')} ${m}`),
      warn: (m) => message(`${color.yellow('warning:')} ${m}`),
    },
    progress: (e) => {
      let line = lines.find((l) => l.platform === e.platform && l.phase === e.phase);
      if (!line || e.state === 'start') {
        line = { platform: e.platform, phase: e.phase, state: 'start', started: Date.now() };
        lines.push(line);
      }
      line.state = e.state === 'update' ? 'update' : e.state;
      if (e.detail !== undefined) line.detail = e.detail;
      if (e.seconds !== undefined) line.seconds = e.seconds;
      // updates come often (every chunk pulled): the 100 ms timer draws them
      if (e.state !== 'update') render();
    },
    close: () => {
      clearInterval(timer);
      render();
      region.done();
    },
  };
}
