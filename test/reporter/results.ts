import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Every test's last outcome, kept across runs in one JSON file (`COPA_TEST_RESULTS`, default
 * `.cache/test-results.json`): a run of some files updates their entries and keeps the others'.
 */
export interface TestOutcome {
  /** path relative to the repository root */
  file: string;
  /** describe titles and test title, joined by " > " */
  name: string;
  state: 'passed' | 'failed' | 'skipped' | 'pending';
  /** when this outcome was recorded (ISO) */
  at?: string;
}

export function resultsFile(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.COPA_TEST_RESULTS ?? '.cache/test-results.json');
}

export function readResults(file = resultsFile()): TestOutcome[] {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { tests?: TestOutcome[] };
    return Array.isArray(parsed.tests) ? parsed.tests : [];
  } catch {
    return [];
  }
}

/** Merge `outcomes` into the file (skipped tests do not replace a recorded pass or failure). */
export function recordResults(outcomes: TestOutcome[], file = resultsFile()): void {
  const at = new Date().toISOString();
  // a file that ran replaces its whole list: tests renamed or removed since do not linger
  const ran = new Map<string, Set<string>>();
  for (const o of outcomes) ran.set(o.file, (ran.get(o.file) ?? new Set()).add(o.name));
  const kept = readResults(file).filter((t) => ran.get(t.file)?.has(t.name) ?? true);
  const byKey = new Map(kept.map((t) => [`${t.file}\0${t.name}`, t]));
  for (const o of outcomes) {
    const key = `${o.file}\0${o.name}`;
    if ((o.state === 'skipped' || o.state === 'pending') && byKey.has(key)) continue;
    byKey.set(key, { ...o, at });
  }
  const tests = [...byKey.values()].sort(
    (a, b) => a.file.localeCompare(b.file) || a.name.localeCompare(b.name),
  );
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ tests }, null, 1) + '\n');
  renameSync(tmp, file);
}
