/** Pure parsers for pacman output. */
import type { PlannedUpdate } from '../types.js';

/** `pacman -Q` (and `--print-format '%n %v'`): `name version` per line. */
export function parsePacmanQ(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\S+)$/.exec(line.trim());
    if (m?.[1] && m[2]) out.set(m[1], m[2]);
  }
  return out;
}

/** `pacman -Qu`: `name old -> new`, possibly followed by `[ignored]` (IgnorePkg: not upgraded). */
export function parsePacmanQu(text: string): { updates: PlannedUpdate[]; ignored: string[] } {
  const updates: PlannedUpdate[] = [];
  const ignored: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\S+) -> (\S+)( \[ignored\])?$/.exec(line.trim());
    if (!m?.[1] || !m[2] || !m[3]) continue;
    if (m[4]) ignored.push(m[1]);
    else updates.push({ name: m[1], from: m[2], to: m[3] });
  }
  return { updates, ignored };
}

/** `pacman -S --print --print-format '%n %v' names`: what would be installed, with `from` from the local db. */
export function plannedFromPrint(text: string, installed: ReadonlyMap<string, string>): PlannedUpdate[] {
  return [...parsePacmanQ(text)].map(([name, to]) => ({ name, from: installed.get(name), to }));
}

/** The lines of a failed pacman run that say why: its `error:` lines, else its last line. */
export function pacmanErrorLine(stderr: string, stdout = ''): string {
  const lines = `${stdout}\n${stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => l.startsWith('error:'));
  return (errors.length > 0 ? errors.join(' ') : lines[lines.length - 1]) ?? 'no output';
}
