import { afterEach, describe, expect, it } from 'vitest';
import { checkEol, type EolClock, type EolOptions } from '../../src/eol/index.js';
import type { Logger } from '../../src/log.js';
import {
  releaseBody,
  startEolApiStub,
  unreachableApiUrl,
  type EolApiStub,
  type EolStubReply,
} from '../helpers/eol-stub.js';

/**
 * checkEol against a local STUB of the end-of-life API over real HTTP (the public API is not reachable
 * here). The 429 backoff runs on a fake clock: the waits are recorded, not slept.
 */
function recordingLogger(): Logger & { warnings: string[]; debugs: string[] } {
  const warnings: string[] = [];
  const debugs: string[] = [];
  return { warnings, debugs, debug: (m) => debugs.push(m), info: () => {}, warn: (m) => warnings.push(m) };
}

function fakeClock(): EolClock & { waits: number[] } {
  let t = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => t,
    sleep: (ms) => {
      waits.push(ms);
      t += ms;
      return Promise.resolve();
    },
  };
}

const ok = (
  name: string,
  r: { isEol: boolean; eolFrom: string | null; isMaintained: boolean },
): EolStubReply => ({
  status: 200,
  body: releaseBody(name, r),
});

let stub: EolApiStub | undefined;
afterEach(async () => {
  await stub?.stop();
  stub = undefined;
});

async function run(
  reply: (path: string, n: number) => EolStubReply,
  os = { type: 'debian', version: '9' },
  extra: Partial<EolOptions> = {},
) {
  stub = await startEolApiStub(reply);
  const logger = recordingLogger();
  const clock = fakeClock();
  const result = await checkEol(os, { apiUrl: stub.apiUrl, logger, clock, ...extra });
  return { result, logger, clock, requests: stub.requests };
}

describe('checkEol against the EOL API stub', () => {
  it('an EOL release: isEol with its date, one GET with User-Agent copacetic', async () => {
    const { result, logger, requests } = await run(() =>
      ok('9', { isEol: true, eolFrom: '2022-06-30', isMaintained: false }),
    );
    expect(result).toEqual({
      product: 'debian',
      version: '9',
      isEol: true,
      eolFrom: '2022-06-30',
      checked: true,
    });
    expect(requests).toEqual([
      { method: 'GET', path: '/api/v1/products/debian/releases/9', userAgent: 'copacetic' },
    ]);
    expect(logger.warnings).toEqual([]);
  });

  it('a maintained release is not EOL', async () => {
    const { result, logger } = await run(
      () => ok('12', { isEol: false, eolFrom: '2026-06-10', isMaintained: true }),
      {
        type: 'debian',
        version: 'bookworm',
      },
    );
    expect(result).toEqual({
      product: 'debian',
      version: '12',
      isEol: false,
      eolFrom: '2026-06-10',
      checked: true,
    });
    expect(logger.warnings).toEqual([]);
  });

  it('a release that is no longer maintained counts as EOL even before its eolFrom date', async () => {
    const { result } = await run(() => ok('10', { isEol: false, eolFrom: null, isMaintained: false }), {
      type: 'debian',
      version: '10.13',
    });
    expect(result).toEqual({ product: 'debian', version: '10', isEol: true, checked: true });
  });

  it('maps the OS to the API product and release in the path', async () => {
    const { requests, result } = await run(
      () => ok('22.04', { isEol: false, eolFrom: '2027-04-01', isMaintained: true }),
      {
        type: 'ubuntu',
        version: '22.04.3 LTS',
      },
    );
    expect(requests.map((r) => r.path)).toEqual(['/api/v1/products/ubuntu/releases/22.04']);
    expect(result.checked).toBe(true);
  });

  it('404: not in the EOL database, not EOL, a warning', async () => {
    const { result, logger } = await run(() => ({ status: 404, body: '{"message":"Not found"}' }), {
      type: 'debian',
      version: '99',
    });
    expect(result).toEqual({
      product: 'debian',
      version: '99',
      isEol: false,
      checked: true,
      detail: 'not in the EOL database',
    });
    expect(logger.warnings).toEqual(['EOL check: debian 99 is not in the EOL database (HTTP 404)']);
  });

  it('429 then 200: waits 1 s and 2 s, then answers', async () => {
    const { result, clock, requests, logger } = await run((_p, n) =>
      n < 2
        ? { status: 429, body: 'slow down' }
        : ok('9', { isEol: true, eolFrom: '2022-06-30', isMaintained: false }),
    );
    expect(clock.waits).toEqual([1000, 2000]);
    expect(requests).toHaveLength(3);
    expect(result).toMatchObject({ isEol: true, checked: true });
    expect(logger.warnings).toEqual([]);
  });

  it('429 forever: 1, 2, 4, 8 s within the 15 s budget, then a warning and checked: false', async () => {
    const { result, clock, requests, logger } = await run(() => ({ status: 429 }));
    expect(clock.waits).toEqual([1000, 2000, 4000, 8000]);
    expect(requests).toHaveLength(5);
    expect(result).toMatchObject({ isEol: false, checked: false });
    expect(logger.warnings).toEqual([
      'could not check whether debian 9 is end-of-life (continuing): the EOL API is rate limiting requests (HTTP 429 after 5 attempts)',
    ]);
  });

  it('500: a warning, checked: false, no retry', async () => {
    const { result, logger, requests } = await run(() => ({ status: 500, body: 'boom' }));
    expect(result).toMatchObject({ isEol: false, checked: false });
    expect(requests).toHaveLength(1);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain('answered HTTP 500');
  });

  it('a body that is not JSON: a warning', async () => {
    const { result, logger } = await run(() => ({
      status: 200,
      body: '<html>maintenance</html>',
      contentType: 'text/html',
    }));
    expect(result).toMatchObject({ isEol: false, checked: false });
    expect(logger.warnings[0]).toContain('is not JSON');
  });

  it('JSON of the wrong shape: a warning (a missing isMaintained is not read as "unmaintained")', async () => {
    const { result, logger } = await run(() => ({
      status: 200,
      body: JSON.stringify({ result: { isEol: false } }),
    }));
    expect(result).toMatchObject({ isEol: false, checked: false });
    expect(logger.warnings[0]).toContain('unexpected EOL API answer');
  });

  it('an unreachable API: a warning naming the connection error', async () => {
    const logger = recordingLogger();
    const result = await checkEol(
      { type: 'debian', version: '12' },
      { apiUrl: await unreachableApiUrl(), logger },
    );
    expect(result).toMatchObject({ product: 'debian', version: '12', isEol: false, checked: false });
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain('could not be reached: ECONNREFUSED');
  });

  it('an API that never answers: the request times out, a warning', async () => {
    const { result, logger } = await run(() => 'hang', { type: 'debian', version: '12' }, { timeoutMs: 300 });
    expect(result).toMatchObject({ isEol: false, checked: false });
    expect(logger.warnings[0]).toContain('no answer within 0.3 s');
  });

  it('cancellation: a warning, never an exception', async () => {
    const controller = new AbortController();
    controller.abort();
    const { result, logger } = await run(
      () => ok('9', { isEol: true, eolFrom: null, isMaintained: false }),
      undefined,
      {
        signal: controller.signal,
      },
    );
    expect(result.checked).toBe(false);
    expect(logger.warnings[0]).toContain('cancelled');
  });

  it('an unknown OS version: skipped without a request', async () => {
    const { result, requests, logger } = await run(() => ({ status: 500 }), { type: 'debian', version: '' });
    expect(requests).toEqual([]);
    expect(result.checked).toBe(false);
    expect(logger.warnings[0]).toContain('(continuing): the OS type or version is unknown');
  });
});
