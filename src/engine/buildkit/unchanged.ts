/**
 * Leave rewritten-but-identical files out of the BuildKit layer.
 *
 * A package upgrade rewrites every file of the package, most of them byte for byte the same as before,
 * only with the new package's mtime. The native engine compares the upper dir with the layer below and
 * drops those. On a BuildKit daemon we never see the base files, but BuildKit's overlay differ skips a file
 * of the upper dir when mode, owner, size and mtime equal the file below — and, when both mtimes have no
 * sub-second part, it compares the bytes itself before skipping. So, in the same exec (the snapshot is
 * committed when it ends), we put the base file's mtime back on every file this run rewrote with the base
 * file's exact content: BuildKit then proves the equality and leaves the file out.
 *
 * The check uses the image's own coreutils/findutils in a few batched processes (no process per file): a
 * missing tool only means nothing is touched (the layer keeps the copies, as before). Only base files
 * whose mtime is whole seconds qualify, so BuildKit always compares contents: a checksum collision can
 * never hide a change. File names travel NUL-separated through xargs and are never parsed by the shell.
 */

/** where the base image is mounted (read-only) for the comparison, and the script's scratch files */
export const BASE_MOUNT = '/tmp/.copa-base';
const SCRATCH = '/tmp/.copa-same';

/** files the container runtime binds into every exec: never touched */
const RUNTIME_FILES = ['./etc/resolv.conf', './etc/hosts', './etc/hostname'];

// $1 = the root whose files the run changes ('/' or the tooling's target path), $2 = the base image's
// mount, $3 = a scratch path prefix (outside the root), then argv.
const SCRIPT = String.raw`r=$1; b=$2; w=$3; s=$3.stamp; shift 3
: > "$s" 2>/dev/null || exec "$@"
"$@"; rc=$?
export LC_ALL=C
[ "$rc" -eq 0 ] && [ -d "$b" ] && cd "$r" 2>/dev/null || { rm -f "$s"; exit "$rc"; }
find . -xdev -type f -cnewer "$s" ${RUNTIME_FILES.map((f) => `! -path ${f}`).join(' ')} -print0 2>/dev/null |
  xargs -0 -r md5sum -- 2>/dev/null | grep -v '^\\' | sort > "$w.new"
cut -c35- "$w.new" | tr '\n' '\0' | (cd "$b" && xargs -0 -r md5sum -- 2>/dev/null) | sort > "$w.old"
comm -12 "$w.new" "$w.old" | cut -c35- > "$w.same"
find . -xdev -type l -cnewer "$s" -printf '%p\t%l\n' 2>/dev/null | sort > "$w.new"
cut -f1 "$w.new" | tr '\n' '\0' |
  (cd "$b" && xargs -0 -r sh -c 'find "$@" -maxdepth 0 -type l -printf "%p\t%l\n"' sh 2>/dev/null) | sort > "$w.old"
comm -12 "$w.new" "$w.old" | cut -f1 >> "$w.same"
tr '\n' '\0' < "$w.same" |
  (cd "$b" && xargs -0 -r sh -c 'find "$@" -maxdepth 0 -printf "%T@ %p\n"' sh 2>/dev/null) |
  grep '^[0-9]*\.0* ' | sed 's/\.0* / /' | sort > "$w.ts"
cut -d' ' -f1 "$w.ts" | uniq | while read -r t; do
  grep "^$t " "$w.ts" | cut -d' ' -f2- | tr '\n' '\0' | xargs -0 -r touch -c -h -d "@$t" --
done
rm -f "$s" "$w.new" "$w.old" "$w.same" "$w.ts"
exit "$rc"`;

/** argv that runs `argv` and then restores the base mtime of files it rewrote unchanged under `root` */
export function keepUnchangedOut(
  argv: string[],
  root: string,
  base = BASE_MOUNT,
  scratch = SCRATCH,
): string[] {
  return ['/bin/sh', '-c', SCRIPT, 'copa-unchanged', root, base, scratch, ...argv];
}
