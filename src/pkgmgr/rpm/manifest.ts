/**
 * CBL-Mariner / Azure Linux distroless images: no rpm database, only `/var/lib/rpmmanifest/container-manifest-1`
 * (`rpm -qa`) and `-2` (tab-separated fields). tdnf comes from a Mariner/Azure Linux tooling image with the image
 * bound at TARGET (COPA-BEHAVIOUR §2.6 "distroless"):
 *
 * 1. refresh: `tdnf makecache`, then rebuild an rpm database in the tooling root by installing every
 *    `name-version-release` of container-manifest-2 into DB_ROOT (`tdnf install --installroot`);
 * 2. plan: `tdnf check-update` against that root;
 * 3. apply: link DB_ROOT's database at the image's /var/lib/rpm, `tdnf install --installroot=TARGET <name>` per
 *    package, drop imported gpg-pubkeys, rewrite both manifests from the database, remove the link and tdnf's
 *    cache from the image. The image keeps no rpm database, as before.
 */
import { rpmVersion } from '../../version/rpm.js';
import type { PackageManager, PackageManagerContext } from '../types.js';
import { TARGET } from './chroot.js';
import { RPM_EXCLUDES } from './inimage.js';
import { parseCheckUpdate, plannedFromCheckUpdate } from './parse.js';
import { MANIFEST_DIR, marinerToolingImages, releaseVer } from './probe.js';
import { applyStep, refreshStep, step } from './run.js';

export const MANIFEST_1 = `${MANIFEST_DIR}/container-manifest-1`;
export const MANIFEST_2 = `${MANIFEST_DIR}/container-manifest-2`;
/** where the rebuilt database lives, in the tooling root */
const DB_ROOT = '/tmp/copa-rpmdb';
/** Copa's container-manifest-2 fields */
export const MANIFEST_2_FORMAT =
  '%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{INSTALLTIME}\\t%{BUILDTIME}\\t%{VENDOR}\\t%{EPOCH}\\t%{SIZE}\\t%{ARCH}\\t%{EPOCHNUM}\\t%{SOURCERPM}\\n';

export interface ManifestEntry {
  name: string;
  /** version-release */
  vr: string;
  /** undefined for `(none)` */
  epoch: string | undefined;
}

/** container-manifest-2 lines: NAME, VERSION-RELEASE, INSTALLTIME, BUILDTIME, VENDOR, EPOCH, ... */
export function parseManifest2(text: string): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (const line of text.split('\n')) {
    const cols = line.split('\t');
    const [name, vr] = cols;
    if (!name || !vr) continue;
    const epoch = cols[5];
    out.push({ name, vr, epoch: epoch && /^\d+$/.test(epoch) && epoch !== '0' ? epoch : undefined });
  }
  return out;
}

/** name → [epoch:]version-release, like the other RPM managers report. */
export function manifestVersions(entries: readonly ManifestEntry[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of entries) {
    const v = e.epoch ? `${e.epoch}:${e.vr}` : e.vr;
    const current = out.get(e.name);
    if (current === undefined || rpmVersion.compare(current, v) < 0) out.set(e.name, v);
  }
  return out;
}

async function readManifest(ctx: PackageManagerContext): Promise<ManifestEntry[]> {
  const text = await ctx.session.readFile(MANIFEST_2);
  return text ? parseManifest2(text.toString('utf8')) : [];
}

/** Write `content` to a path of the image (through the tooling root, where a shell exists). */
async function writeImageFile(ctx: PackageManagerContext, path: string, content: string): Promise<void> {
  await step(ctx, ['sh', '-c', 'cat > "$1"', 'sh', `${TARGET}${path}`], {
    what: `writing ${path}`,
    in: 'tooling',
    stdin: content,
  });
}

export function marinerDistrolessManager(os: { type: string; version: string }): PackageManager {
  const rel = `--releasever=${releaseVer(os.version)}`;
  const dbpath = `--dbpath=${TARGET}/var/lib/rpm`;
  const installed = async (ctx: PackageManagerContext) => manifestVersions(await readManifest(ctx));
  const simulate = async (ctx: PackageManagerContext, names: string[] | null) => {
    const r = await step(
      ctx,
      ['tdnf', '-q', rel, `--installroot=${DB_ROOT}`, 'check-update', ...(names ?? [])],
      {
        what: 'tdnf check-update',
        in: 'tooling',
        ok: [0, 100],
      },
    );
    return plannedFromCheckUpdate(parseCheckUpdate(r.stdout), await installed(ctx));
  };
  return {
    name: 'rpm-tdnf-distroless',
    scheme: rpmVersion,
    cachePaths: ['/var/cache/tdnf'],
    cacheRoot: 'tooling',
    excludePaths: ['/var/cache/tdnf', ...RPM_EXCLUDES],
    tooling: { images: (o) => marinerToolingImages(o), targetPath: TARGET },
    installed,
    async refresh(ctx) {
      await refreshStep(ctx, ['tdnf', 'makecache'], { what: 'tdnf makecache', in: 'tooling' });
      const specs = (await readManifest(ctx)).map((e) => `${e.name}-${e.vr}`);
      await step(ctx, ['tdnf', 'install', '-y', rel, `--installroot=${DB_ROOT}`, ...specs], {
        what: 'rebuilding the rpm database (tdnf install --installroot)',
        in: 'tooling',
        live: true,
      });
    },
    held: () => Promise.resolve([]),
    simulate,
    async apply(ctx, names) {
      const targets = names ?? (await simulate(ctx, null)).map((u) => u.name);
      await step(ctx, ['mkdir', '-p', `${TARGET}/var/lib`], { what: 'mkdir', in: 'tooling' });
      await step(ctx, ['ln', '-s', `${DB_ROOT}/var/lib/rpm`, `${TARGET}/var/lib/rpm`], {
        what: 'linking the rpm database',
        in: 'tooling',
      });
      try {
        for (const name of targets) {
          await applyStep(ctx, ['tdnf', 'install', '-y', rel, `--installroot=${TARGET}`, name], {
            what: `tdnf install ${name}`,
            in: 'tooling',
          });
        }
        await step(ctx, ['rpm', dbpath, '--erase', '--allmatches', 'gpg-pubkey'], {
          what: 'rpm --erase gpg-pubkey',
          in: 'tooling',
          ok: [0, 1],
        });
        const m1 = await step(ctx, ['rpm', dbpath, '-qa'], { what: 'rpm -qa', in: 'tooling' });
        const m2 = await step(ctx, ['rpm', dbpath, '-qa', '--queryformat', MANIFEST_2_FORMAT], {
          what: 'rpm -qa',
          in: 'tooling',
        });
        await writeImageFile(ctx, MANIFEST_1, m1.stdout);
        await writeImageFile(ctx, MANIFEST_2, m2.stdout);
      } finally {
        await step(ctx, ['rm', '-rf', `${TARGET}/var/lib/rpm`, `${TARGET}/var/cache/tdnf`], {
          what: 'cleaning up',
          in: 'tooling',
        });
      }
    },
  };
}
