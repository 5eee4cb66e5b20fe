import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real OpenSSH server on 127.0.0.1 for `ssh://` BuildKit addresses: its own host key, config, authorized
 * key and PATH (so `buildctl` resolves on the "remote" side), and an `ssh` wrapper on a private PATH dir that
 * hands the client its own config (key, no host-key prompt), as a user's ~/.ssh/config would.
 */
export interface TestSshd {
  port: number;
  /** put first on PATH: holds the `ssh` wrapper */
  binDir: string;
  stop(): Promise<void>;
}

export const SSHD = '/usr/sbin/sshd';

/** why the ssh tests cannot run here, or undefined */
export function sshdMissing(): string | undefined {
  for (const tool of [SSHD, '/usr/bin/ssh', '/usr/bin/ssh-keygen'])
    if (!existsSync(tool))
      return `— SKIPPED: ${tool} is missing (apt-get install openssh-server openssh-client)`;
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startSshd(opts: { remotePath: string[] }): Promise<TestSshd> {
  const dir = await mkdtemp(join(tmpdir(), 'copa-sshd-'));
  const key = (name: string) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(dir, name)]);
  };
  key('host_key');
  key('id_client');
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'id_client.pub')));
  const port = await freePort();
  const path = [...opts.remotePath, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'].join(':');
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `SetEnv PATH=${path}`,
    ].join('\n') + '\n',
  );
  await writeFile(
    join(dir, 'ssh_config'),
    [
      'Host 127.0.0.1',
      `  IdentityFile ${join(dir, 'id_client')}`,
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  BatchMode yes',
      '  LogLevel ERROR',
    ].join('\n') + '\n',
  );
  const binDir = join(dir, 'bin');
  await mkdir(binDir);
  await writeFile(join(binDir, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F ${join(dir, 'ssh_config')} "$@"\n`);
  await chmod(join(binDir, 'ssh'), 0o755);
  await mkdir('/run/sshd', { recursive: true }); // sshd's privilege separation dir
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  // ready when a login runs a command
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      execFileSync(join(binDir, 'ssh'), ['-p', String(port), 'root@127.0.0.1', 'true'], { stdio: 'ignore' });
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
        throw new Error(`sshd did not start on 127.0.0.1:${port}: ${log.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    port,
    binDir,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
