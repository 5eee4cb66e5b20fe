/**
 * `npm run build`, second step: the CLI as one bundle. `tsc` has written dist/ (the library, `dist/index.js`,
 * and every module of the CLI); this replaces dist/cli/main.js with the CLI (its entry, src/cli/entry.ts)
 * and its dependencies bundled by esbuild, so a run starts in ~0.25 s instead of ~0.45 s (Node resolves and
 * reads ~1,000 module files of the dependencies otherwise). The BuildKit client is a separate chunk, loaded
 * only for `--addr`/`--engine buildkit`; bulk mode is another. The sandbox child (spawned as its own Node
 * process) becomes dist/cli/child.js beside it, where src/engine/native/spawn.ts looks for it. Nothing else
 * moves: paths read at run time (package.json, two levels up) stay valid from dist/cli/.
 */
import { readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const repo = fileURLToPath(new URL('..', import.meta.url));
const out = join(repo, 'dist/cli');

// chunks of an earlier build (their names carry a content hash), and tsc's source map of the replaced main.js
for (const name of await readdir(out)) {
  if (name.startsWith('chunk-') || name === 'main.js.map') await rm(join(out, name));
}

/**
 * zod's namespace re-exports its ~45 message locales (`z.locales`, ~360 KB of the bundle, parsed at every
 * start); copa uses none of them, and zod configures English itself from its own `en.js`. The bundle gets a
 * `locales` module that holds English only.
 */
const englishOnlyZod: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), '../locales/index.js'), namespace: 'zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

await build({
  plugins: [englishOnlyZod],
  entryPoints: {
    main: join(repo, 'src/cli/entry.ts'),
    child: join(repo, 'src/engine/native/child.ts'),
  },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.18',
  // flat in dist/cli/, so that import.meta.url-relative paths of any chunk resolve as from main.js
  chunkNames: 'chunk-[hash]',
  allowOverwrite: true,
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies (grpc-js, protobufjs, …) call require() for Node's own modules
  banner: {
    js: "import { createRequire as __copaRequire } from 'node:module'; const require = __copaRequire(import.meta.url);",
  },
});

// tsc's copy of the entry would import the bundle above as its CLI: only the bundle is the command
for (const name of ['entry.js', 'entry.js.map', 'entry.d.ts']) await rm(join(out, name), { force: true });
