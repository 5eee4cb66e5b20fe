import { describe, expect, it } from 'vitest';
import { codec } from './proto.js';
import * as llb from './llb.js';

const amd64 = { os: 'linux', architecture: 'amd64' };

describe('LLB ops', () => {
  it('names an image source exactly as buildkitd v0.28.1 did (digest seen in its status stream)', () => {
    // BuildKit re-marshals every op with Go's marshaller and names it by those bytes: a oneof goes last
    const s = llb.image('127.0.0.1:5999/bench/debian:12', amd64);
    expect(s.vertex.digest).toBe('sha256:4faaed77398fdb6e6ed05b08ebd39a1a4602afd2741b3b78ea5a3e8fba875b92');
  });

  it('names an exec op exactly as buildkitd v0.28.1 did', () => {
    const base = llb.image('127.0.0.1:5999/bench/debian:12', amd64);
    const e = llb.exec({
      root: base,
      args: ['sh', '-c', 'echo hi; echo err >&2; echo x > /newfile; rm /etc/issue'],
      env: { PATH: '/usr/bin:/bin' },
      platform: amd64,
    });
    expect(e.root.vertex.digest).toBe(
      'sha256:3a90e46056c5f7748d8b07f622ec244fb0c8eddc3ad2d2c33d1cb3eefea81221',
    );
  });

  it('exec mounts: writable state mounts get outputs, cache and tmpfs mounts none; env sorted', () => {
    const base = llb.image('a/b@sha256:' + '0'.repeat(64), amd64);
    const tool = llb.image('t/u@sha256:' + '1'.repeat(64), amd64);
    const e = llb.exec({
      root: tool,
      args: ['true'],
      env: { Z: '1', A: '2' },
      platform: amd64,
      mounts: [
        { dest: '/tmp/rootfs', state: base },
        { dest: '/var/lib/apt/lists', cache: 'k' },
        { dest: '/tmp', tmpfs: true },
      ],
    });
    expect([...e.mounts.keys()]).toEqual(['/', '/tmp/rootfs']);
    expect(e.mounts.get('/tmp/rootfs')?.index).toBe(1);
    const op = codec<{ inputs: Array<{ digest: string }> }>('pb.Op').decode(e.root.vertex.bytes);
    expect(op.inputs.map((i) => i.digest)).toEqual([tool.vertex.digest, base.vertex.digest]);
    const body = codec<{
      exec: { meta: { env: string[] }; mounts: Array<{ dest: string; output: number; mountType: number }> };
    }>('pb.Op').decode(e.root.vertex.bytes).exec;
    expect(body.meta.env).toEqual(['A=2', 'Z=1']);
    expect(body.mounts.map((m) => [m.dest, m.output, m.mountType])).toEqual([
      ['/', 0, 0],
      ['/tmp/rootfs', 1, 0],
      ['/var/lib/apt/lists', -1, 3],
      ['/tmp', -1, 4],
    ]);
  });

  it('a definition lists every op once, inputs first, and ends with the op that names the result', () => {
    const base = llb.image('a/b@sha256:' + '0'.repeat(64), amd64);
    const one = llb.exec({ root: base, args: ['a'], env: {}, platform: amd64 });
    const two = llb.exec({ root: one.root, args: ['b'], env: {}, platform: amd64 });
    const d = llb.diff(base, two.root);
    const def = llb.definition(d);
    expect(def.def).toHaveLength(5);
    const digests = def.def
      .slice(0, -1)
      .map((b) =>
        b.equals(base.vertex.bytes)
          ? 'base'
          : b.equals(one.root.vertex.bytes)
            ? 'one'
            : b.equals(two.root.vertex.bytes)
              ? 'two'
              : 'diff',
      );
    expect(digests).toEqual(['base', 'one', 'two', 'diff']);
    const last = codec<{ inputs: Array<{ digest: string; index: number }> }>('pb.Op').decode(def.def[4]!);
    expect(last.inputs).toEqual([{ digest: d.vertex.digest, index: 0 }]);
    expect(def.metadata).toEqual({});
  });

  it('a host file travels as a FileOp mkfile on scratch, mounted read-only by a selector', () => {
    const f = llb.file('file', Buffer.from('PEM'));
    const op = codec<{
      inputs?: unknown[];
      file: {
        actions: Array<{
          input: number;
          secondaryInput: number;
          output: number;
          mkfile: { path: string; mode: number; data: Uint8Array };
        }>;
      };
    }>('pb.Op').decode(f.vertex.bytes);
    expect(op.inputs ?? []).toEqual([]);
    const [action] = op.file.actions;
    expect([Number(action?.input), Number(action?.secondaryInput), Number(action?.output)]).toEqual([
      -1, -1, 0,
    ]);
    expect(action?.mkfile.path).toBe('/file');
    expect(action?.mkfile.mode).toBe(0o644);
    expect(Buffer.from(action?.mkfile.data ?? []).toString()).toBe('PEM');
    const base = llb.image('a/b@sha256:' + '0'.repeat(64), amd64);
    const e = llb.exec({
      root: base,
      args: ['true'],
      env: {},
      platform: amd64,
      mounts: [{ dest: '/run/ca.pem', state: f, readonly: true, selector: 'file' }],
    });
    const mounts = codec<{
      exec: { mounts: Array<{ dest: string; selector: string; output: number; readonly: boolean }> };
    }>('pb.Op').decode(e.root.vertex.bytes).exec.mounts;
    expect(mounts[1]).toMatchObject({ dest: '/run/ca.pem', selector: 'file', readonly: true });
    expect(Number(mounts[1]?.output)).toBe(-1);
  });
});
