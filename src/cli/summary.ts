/**
 * The end of a run, said once: what changed (a package table), where the result went (reference and
 * digest), the new layer's size and the total time. `quiet` keeps only the result line.
 */
import { formatBytes } from '../cache/policy.js';
import type { PatchPlan } from '../patch/plan.js';
import type { PatchResult } from '../patch/result.js';
import { tableLines } from './table.js';

function plans(result: PatchResult): { platform: string; plan: PatchPlan }[] {
  if (result.plan) return [{ platform: result.platform, plan: result.plan }];
  return (result.platforms ?? []).flatMap((p) => (p.plan ? [{ platform: p.platform, plan: p.plan }] : []));
}

function changeTable(result: PatchResult): string[] {
  const all = plans(result);
  const multi = all.length > 1;
  const rows = [[...(multi ? ['PLATFORM'] : []), 'PACKAGE', 'FROM', 'TO']];
  for (const { platform, plan } of all) {
    for (const u of plan.updates) rows.push([...(multi ? [platform] : []), u.name, u.from ?? '(new)', u.to]);
    for (const l of plan.libraries ?? []) {
      rows.push([...(multi ? [platform] : []), `${l.name} (${l.type}, ${l.path})`, l.from, l.to]);
    }
  }
  return rows.length > 1 ? tableLines(rows) : [];
}

const seconds = (s: number): string => `${s.toFixed(1)} s`;

export function finalSummary(result: PatchResult, opts: { quiet: boolean; totalSeconds: number }): string[] {
  const updates = plans(result).reduce(
    (n, p) => n + p.plan.updates.length + (p.plan.libraries?.length ?? 0),
    0,
  );
  const reportLine = result.report
    ? `report: ${result.report.total} vulnerabilities, ${result.report.patched} with a fix, ${result.report.skipped} without`
    : undefined;
  if (result.status === 'DryRun') {
    const line = `Dry run of ${result.image} (${result.platform}): ${updates} update(s) would be made; nothing was written (${seconds(opts.totalSeconds)})`;
    return opts.quiet ? [line] : [line, ...(reportLine ? [reportLine] : [])];
  }
  if (result.status === 'Up-to-date') {
    const why = result.libraryFailed?.length
      ? 'No patch was applied: every library update failed (see above).'
      : 'Image is already up-to-date. No patch was applied.';
    const line = `${why} (${result.image}, ${result.platform}, ${seconds(opts.totalSeconds)})`;
    return opts.quiet ? [line] : [line, ...(reportLine ? [reportLine] : [])];
  }
  const where = `${result.patchedImage ?? result.output.location ?? ''}${result.digest ? `@${result.digest}` : ''}`;
  const layer = result.layer
    ? `new layer ${formatBytes(result.layer.size)} (${formatBytes(result.layer.uncompressedSize)} uncompressed)`
    : result.platforms
      ? `${result.platforms.filter((p) => p.status === 'Patched').length} platform(s) patched`
      : '';
  const line = `Patched ${result.image} (${result.platform}) -> ${where}: ${updates} update(s), ${layer}, ${seconds(opts.totalSeconds)}`;
  if (opts.quiet) return [line];
  return [...changeTable(result), ...referrerTable(result), ...(reportLine ? [reportLine] : []), line];
}

/** --attach: the referrers as the registry lists them back. */
function referrerTable(result: PatchResult): string[] {
  const all = result.referrers ?? [];
  if (all.length === 0) return [];
  const short = (d: string): string => d.slice(0, 19);
  const rows = [['REFERRER', 'ARTIFACT TYPE', 'SUBJECT', 'PLATFORM', 'FOUND VIA']];
  for (const r of all) {
    const what = r.action === 'copied' ? `${short(r.digest)} (copied)` : short(r.digest);
    rows.push([what, r.artifactType, short(r.subject), r.platform ?? result.platform, r.via]);
  }
  return tableLines(rows);
}
