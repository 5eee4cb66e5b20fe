import { CopaError } from '../errors.js';

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go-style durations as Copa's --timeout takes them: `5m`, `90s`, `1h30m`, `1.5h`, `300ms`. */
export function parseDuration(input: string, flag = '--timeout'): number {
  const s = input.trim();
  if (/^\d+$/.test(s) && s !== '0') {
    throw new CopaError('USAGE', `${flag}: invalid duration ${JSON.stringify(input)}: missing unit`, {
      hint: `e.g. ${flag} 10m`,
    });
  }
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * (UNITS[m[2] as string] ?? 0);
    pos = re.lastIndex;
  }
  if (s === '' || pos !== s.length || total <= 0) {
    throw new CopaError('USAGE', `${flag}: invalid duration ${JSON.stringify(input)}`, {
      hint: `e.g. ${flag} 10m, 90s or 1h30m`,
    });
  }
  return Math.round(total);
}
