import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Everything under `base` except the extraction roots (top-level names starting with "root"): names, modes,
 * owners, link counts, mtimes and contents — compared before and after an extraction, it proves nothing
 * outside the roots changed.
 */
export async function outsideState(
  base: string,
  skip: (topLevelName: string) => boolean = (name) => name.startsWith('root'),
): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      if (dir === base && skip(name)) continue;
      const p = join(dir, name);
      const st = await lstat(p);
      const extra = st.isFile()
        ? (await readFile(p)).toString('base64')
        : st.isSymbolicLink()
          ? await readlink(p)
          : '';
      out.push(`${p} ${st.mode.toString(8)} ${st.uid} ${st.nlink} ${st.mtimeMs} ${extra}`);
      if (st.isDirectory()) await walk(p);
    }
  }
  await walk(base);
  return out;
}
