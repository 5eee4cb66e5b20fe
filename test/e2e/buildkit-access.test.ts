import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildkitdMissing, startBuildkitd, type TestBuildkitd } from '../helpers/buildkitd.js';
import { CLI, copa } from '../helpers/cli.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { rawManifest } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { sshdMissing, startSshd } from '../helpers/sshd.js';

/**
 * Who may use the BuildKit engine, and from where: a registry that wants a password (the daemon asks copa
 * for it over the session), a user without root on the client, bulk jobs. A real buildkitd and registry.
 */

const MISSING = buildkitdMissing();

let registry: TestRegistry;
let authRegistry: TestRegistry;
let dockerConfig: string;
let buildkitd: TestBuildkitd;
let work: string;
let source: string;

const json = (stdout: string): { status: string } => JSON.parse(stdout) as { status: string };

beforeAll(async () => {
  if (MISSING !== undefined) return;
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-bk-access-'));
  registry = await startRegistry();
  const htpasswd = join(work, 'htpasswd');
  await writeFile(htpasswd, execFileSync('htpasswd', ['-Bbn', 'copa', 's3cret'], { encoding: 'utf8' }));
  authRegistry = await startRegistry({ htpasswd });
  dockerConfig = join(work, 'docker-config');
  await mkdir(dockerConfig);
  const auth = Buffer.from('copa:s3cret').toString('base64');
  await writeFile(
    join(dockerConfig, 'config.json'),
    JSON.stringify({ auths: { [authRegistry.host]: { auth } } }),
  );
  buildkitd = await startBuildkitd({
    insecureRegistries: [registry.host, authRegistry.host],
    name: 'access',
  });
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
}, 900_000);

afterAll(async () => {
  await buildkitd?.stop();
  await authRegistry?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe.skipIf(MISSING !== undefined)(
  `the BuildKit engine: credentials, no root, bulk ${MISSING ?? ''}`,
  () => {
    it('a registry that wants a password: the daemon pulls with the credentials copa serves over the session', async () => {
      const env = { ...process.env, DOCKER_CONFIG: dockerConfig };
      execFileSync('skopeo', [
        'copy',
        '--insecure-policy',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        '--dest-creds',
        'copa:s3cret',
        `docker://${source}`,
        `docker://${authRegistry.host}/private/debian:12`,
      ]);
      const r = await copa(
        [
          'patch',
          '-i',
          `${authRegistry.host}/private/debian:12`,
          '--push',
          '--json',
          '--addr',
          buildkitd.addr,
        ],
        env,
      );
      expect(r.stderr).not.toMatch(/^Error/m);
      expect(r.code).toBe(0);
      expect(json(r.stdout).status).toBe('Patched');
      expect(r.stderr).not.toContain('s3cret');
    });

    it('bulk (--config) jobs run on the daemon too', async () => {
      const config = join(work, 'bulk.yaml');
      const repo = source.replace(/:12$/, '');
      await writeFile(
        config,
        [
          'apiVersion: copa.sh/v1alpha1',
          'kind: PatchConfig',
          'images:',
          '  - name: deb',
          `    image: ${repo}`,
          '    tags: {strategy: list, list: ["12"]}',
          '    target: {tag: "{{ .SourceTag }}-bulk"}',
        ].join('\n'),
      );
      const r = await copa(['patch', '--config', config, '--push', '--json', '--addr', buildkitd.addr]);
      expect(r.stderr).not.toMatch(/^Error/m);
      expect(r.code).toBe(0);
      expect(rawManifest(`${repo}:12-bulk`).layers).toHaveLength(rawManifest(source).layers.length + 1);
    });

    it.skipIf(sshdMissing() !== undefined)(
      `ssh://USER@HOST:PORT/SOCKET: buildctl dial-stdio on the ssh host, as BuildKit's helper runs it ${sshdMissing() ?? ''}`,
      async () => {
        const buildctl = process.env.COPA_TEST_BUILDCTL ?? '';
        const sshd = await startSshd({ remotePath: [dirname(buildctl)] });
        try {
          const env = { ...process.env, PATH: `${sshd.binDir}:${process.env.PATH ?? ''}` };
          const addr = `ssh://root@127.0.0.1:${sshd.port}${buildkitd.socket}`;
          const args = ['patch', '-i', source, '-t', '12-ssh', '--push', '--json', '--addr', addr];
          const r = await copa(args, env);
          expect(r.stderr).not.toMatch(/^Error/m);
          expect(r.code).toBe(0);
          expect(json(r.stdout).status).toBe('Patched');
          expect(rawManifest(`${registry.host}/debian:12-ssh`).layers).toHaveLength(
            rawManifest(source).layers.length + 1,
          );
          // a socket that is not there on the ssh host: one line naming the address, exit 1, nothing pushed
          const bad = `ssh://root@127.0.0.1:${sshd.port}/nonexistent/buildkitd.sock`;
          const miss = await copa(
            [...args.slice(0, -1), bad].map((a) => (a === '12-ssh' ? '12-ssh-bad' : a)),
            env,
          );
          expect(miss.code).toBe(1);
          const err = JSON.parse(miss.stdout) as { message: string; hint: string };
          expect(err.message).toContain(`cannot reach BuildKit at ${bad}`);
          expect(err.message).toContain('no such file or directory');
          expect(err.message).not.toContain('\n');
          expect(err.hint).toContain('buildctl');
        } finally {
          await sshd.stop();
        }
      },
    );

    it('needs no root on the client: an unprivileged user patches through the daemon socket', async () => {
      const home = await mkdtemp(join(tmpdir(), 'copa-nonroot-'));
      await chmod(home, 0o777);
      await chmod(buildkitd.dir, 0o711);
      await chmod(buildkitd.socket, 0o666);
      try {
        // the checkout may sit below a directory that user cannot enter (/root): show it at a plain path, in a
        // private mount namespace
        const repo = fileURLToPath(new URL('../..', import.meta.url));
        const seen = await mkdtemp(join(tmpdir(), 'copa-nonroot-repo-'));
        await chmod(seen, 0o755);
        const args = [
          'patch',
          '-i',
          source,
          '-t',
          '12-nonroot',
          '--push',
          '--json',
          '--addr',
          buildkitd.addr,
        ];
        const script =
          'mount --bind "$1" "$2" && shift 2 && exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"';
        const out = execFileSync(
          'unshare',
          [
            '-m',
            '--propagation',
            'private',
            'sh',
            '-c',
            script,
            'sh',
            repo,
            seen,
            process.execPath,
            join(seen, relative(repo, CLI)),
            ...args,
          ],
          {
            encoding: 'utf8',
            env: { PATH: process.env.PATH, HOME: home, COPA_EOL_API_URL: 'off' },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        await rm(seen, { recursive: true, force: true });
        expect(json(out).status).toBe('Patched');
        expect(rawManifest(`${registry.host}/debian:12-nonroot`).layers).toHaveLength(
          rawManifest(source).layers.length + 1,
        );
      } finally {
        await chmod(buildkitd.socket, 0o660);
        await chmod(buildkitd.dir, 0o700);
        await rm(home, { recursive: true, force: true });
      }
    });
  },
);
