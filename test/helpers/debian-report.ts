import { writeFile } from 'node:fs/promises';
import { trivyReport } from './trivy.js';
import type { Upgradable } from './upgradable.js';

/** Write a Trivy report for a bookworm image naming exactly `updates` (installed → fixed). */
export async function writeBookwormReport(
  file: string,
  image: string,
  updates: Upgradable[],
  arch = 'amd64',
): Promise<void> {
  await writeFile(
    file,
    trivyReport({
      family: 'debian',
      version: '12',
      arch,
      image,
      vulns: updates.map((u) => ({ pkg: u.name, installed: u.from, fixed: u.to })),
    }),
  );
}

/**
 * Write a Trivy report for the bookworm fixture naming a few of its upgradable packages (openssl and friends
 * when they are behind today, else the first two); returns the packages it named.
 */
export async function writeDebianReport(
  file: string,
  image: string,
  arch: string,
  upgradable: Upgradable[],
): Promise<Upgradable[]> {
  const pick = upgradable.filter((u) => ['libssl3', 'openssl', 'libexpat1'].includes(u.name));
  const chosen = pick.length > 0 ? pick : upgradable.slice(0, 2);
  await writeBookwormReport(file, image, chosen, arch);
  return chosen;
}
