import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { copaArgv, getInput, readInputs, socketAddress } from './inputs.js';

const argvFor = (env: Record<string, string>): string[] => copaArgv(readInputs(env));

describe('action inputs → copa argv', () => {
  it('maps the copa-action inputs (GitHub names: INPUT_ upper case, - kept)', () => {
    expect(
      argvFor({
        INPUT_IMAGE: 'r.example/app:1.2',
        'INPUT_IMAGE-REPORT': 'report.json',
        'INPUT_PATCHED-TAG': '1.2-patched',
        INPUT_TIMEOUT: '10m',
        INPUT_OUTPUT: 'vex.json',
        INPUT_FORMAT: 'openvex',
        'INPUT_CUSTOM-SOCKET': '/run/user/1000/docker.sock',
        INPUT_PUSH: 'true',
      }),
    ).toEqual([
      'patch',
      '-i',
      'r.example/app:1.2',
      '-r',
      'report.json',
      '-t',
      '1.2-patched',
      '--timeout',
      '10m',
      '-f',
      'openvex',
      '-o',
      'vex.json',
      '--addr',
      'docker://unix:///run/user/1000/docker.sock',
      '--push',
      '--json',
    ]);
  });

  it('only the image is required: defaults as copa-action (timeout 5m), update-all without a report', () => {
    expect(argvFor({ INPUT_IMAGE: 'app:1' })).toEqual(['patch', '-i', 'app:1', '--timeout', '5m', '--json']);
  });

  it('empty inputs are "not given" (GitHub passes every declared input, empty when unset)', () => {
    expect(
      argvFor({
        INPUT_IMAGE: ' app:1 ',
        'INPUT_IMAGE-REPORT': '',
        'INPUT_PATCHED-TAG': '',
        INPUT_OUTPUT: '',
        INPUT_FORMAT: 'openvex',
        'INPUT_CUSTOM-SOCKET': '',
        INPUT_ENGINE: '',
        INPUT_PUSH: 'false',
        INPUT_TIMEOUT: '5m',
      }),
    ).toEqual(['patch', '-i', 'app:1', '--timeout', '5m', '--json']);
  });

  it('reads _ for - (GitLab / shell variables), and report as a short name of image-report', () => {
    const env = {
      INPUT_IMAGE: 'app:1',
      INPUT_PATCHED_TAG: 'fixed',
      INPUT_REPORT: 'r.json',
      INPUT_ENGINE: 'buildkit',
    };
    expect(argvFor(env)).toEqual([
      'patch',
      '-i',
      'app:1',
      '-r',
      'r.json',
      '-t',
      'fixed',
      '--timeout',
      '5m',
      '--engine',
      'buildkit',
      '--json',
    ]);
    expect(getInput({ 'INPUT_PATCHED-TAG': 'a', INPUT_PATCHED_TAG: 'b' }, 'patched-tag')).toBe('a');
  });

  it('format goes with output only (it names the VEX document format)', () => {
    expect(argvFor({ INPUT_IMAGE: 'app:1', INPUT_FORMAT: 'openvex' })).not.toContain('-f');
  });

  it.each([
    ['unix:///run/buildkit/buildkitd.sock', 'unix:///run/buildkit/buildkitd.sock'],
    ['tcp://127.0.0.1:1234', 'tcp://127.0.0.1:1234'],
    ['buildx://ci', 'buildx://ci'],
    ['docker://', 'docker://'],
    ['/var/run/docker.sock', 'docker://unix:///var/run/docker.sock'],
  ])('custom-socket %s → --addr %s', (socket, addr) => {
    expect(socketAddress(socket)).toBe(addr);
  });

  it.each([
    [{}, /action input image: required/],
    [{ INPUT_IMAGE: 'a', INPUT_PUSH: 'yes' }, /action input push/],
    [{ INPUT_IMAGE: 'a', INPUT_ENGINE: 'docker' }, /action input engine/],
    [{ INPUT_IMAGE: 'a', 'INPUT_CUSTOM-SOCKET': 'docker.sock' }, /custom-socket: docker.sock is neither/],
    [{ INPUT_IMAGE: 'a', 'INPUT_IMAGE-REPORT': 'x.json', INPUT_REPORT: 'y.json' }, /disagree/],
  ])('bad input %j is one USAGE error naming it', (env, message) => {
    let err: unknown;
    try {
      argvFor(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('USAGE');
    expect((err as CopaError).message).toMatch(message);
    expect((err as CopaError).hint).toBeTruthy();
  });

  it('push accepts True/TRUE as GitHub booleans print', () => {
    expect(argvFor({ INPUT_IMAGE: 'a', INPUT_PUSH: 'True' })).toContain('--push');
  });
});
