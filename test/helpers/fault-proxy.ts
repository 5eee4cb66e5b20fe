import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * An HTTP server in front of a real registry that injects faults: error statuses, connections reset
 * mid-body, slow responses, corrupted bytes, ignored Range requests, cross-origin redirects. It also
 * works as a forward proxy (absolute-URI requests and CONNECT tunnels), to show HTTP_PROXY is used.
 * Everything it sees is recorded in `requests`.
 */
export type Fault =
  /** answer with this status instead of forwarding (`code`: the distribution error code in the body) */
  | { kind: 'status'; status: number; retryAfter?: string; code?: string }
  /** forward without the Authorization header: the registry answers 401 as for an expired token */
  | { kind: 'unauthorized' }
  /** reset the connection after `afterBytes` bytes of the request body (an upload), or at its end if shorter */
  | { kind: 'reset-request'; afterBytes: number }
  /** forward only the first `bytes` bytes of the body, with a Content-Length that says so */
  | { kind: 'truncate'; bytes: number }
  /** flip the first byte of the request body (an upload the registry then refuses) */
  | { kind: 'corrupt-request' }
  /** forward, but reset the connection after `afterBytes` bytes of the body */
  | { kind: 'reset'; afterBytes: number }
  /**
   * a stalled connection: without `afterBytes` no answer at all; with it, the headers and that many bytes
   * of the body, then silence (the connection stays open)
   */
  | { kind: 'stall'; afterBytes?: number }
  /** wait `delayMs` before the response and `chunkDelayMs` between body chunks */
  | { kind: 'slow'; delayMs: number; chunkDelayMs?: number }
  /** flip the first byte of the body */
  | { kind: 'corrupt' }
  /** drop the Range header (the registry then sends the whole blob) and Accept-Ranges */
  | { kind: 'no-range' }
  /** 307 to the same path on a second origin (another port), which forwards with `redirectAuth` */
  | { kind: 'redirect' };

export interface FaultRule {
  method?: string;
  path: RegExp;
  fault: Fault;
  /** how many matching requests get the fault (default: all) */
  times?: number;
}

export interface RecordedRequest {
  via: 'proxy' | 'redirect-target' | 'connect';
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  fault?: Fault['kind'];
}

export interface FaultProxy {
  /** 127.0.0.1:port of the proxy (use it as the registry host, or as HTTP_PROXY) */
  host: string;
  /** the second origin that redirects go to */
  redirectHost: string;
  requests: RecordedRequest[];
  rules: FaultRule[];
  /** Authorization the redirect target adds when forwarding (it stands for a CDN with its own access) */
  redirectAuth: string | undefined;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

/** Headers for the upstream request. Host is kept, so the registry's Location URLs point back at us. */
function forwardHeaders(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  }
  return out;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const [upHost, upPort] = [upstream.replace(/:\d+$/, ''), Number(/:(\d+)$/.exec(upstream)?.[1] ?? 80)];
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    host: '',
    redirectHost: '',
    requests: [],
    rules: [],
    redirectAuth: undefined,
    stop: () => Promise.resolve(),
  };

  const takeFault = (req: IncomingMessage, path: string): Fault | undefined => {
    const rule = proxy.rules.find(
      (r) =>
        (r.method === undefined || r.method === req.method) &&
        r.path.test(path) &&
        (r.times === undefined || r.times > 0),
    );
    if (!rule) return undefined;
    if (rule.times !== undefined) rule.times--;
    return rule.fault;
  };

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    fault: Fault | undefined,
    auth?: string,
  ): void => {
    const headers = forwardHeaders(req.headers);
    if (fault?.kind === 'no-range') delete headers['range'];
    if (fault?.kind === 'unauthorized') delete headers['authorization'];
    if (auth !== undefined) headers['authorization'] = auth;
    try {
      const up = httpRequest({ host: upHost, port: upPort, method: req.method, path, headers }, (upRes) => {
        relay(upRes, res, fault).catch(() => res.destroy());
      });
      up.on('error', () => res.destroy());
      if (fault?.kind === 'corrupt-request') {
        let first = true;
        req.on('data', (c: Buffer) => {
          const chunk = first && c.length > 0 ? Buffer.from(c) : c;
          if (first && chunk.length > 0) chunk[0] = (chunk[0] ?? 0) ^ 0xff;
          first = false;
          up.write(chunk);
        });
        req.on('end', () => up.end());
        return;
      }
      req.pipe(up);
    } catch {
      // a request node refuses to forward: fail this exchange, never the test process
      res.destroy();
    }
  };

  const relay = async (
    upRes: IncomingMessage,
    res: ServerResponse,
    fault: Fault | undefined,
  ): Promise<void> => {
    const headers = { ...upRes.headers };
    if (fault?.kind === 'no-range') delete headers['accept-ranges'];
    if (fault?.kind === 'slow') await sleep(fault.delayMs);
    if (fault?.kind === 'truncate') {
      const parts: Buffer[] = [];
      for await (const c of upRes as AsyncIterable<Buffer>) parts.push(c);
      const whole = Buffer.concat(parts);
      const part = whole.subarray(0, fault.bytes);
      res.writeHead(upRes.statusCode ?? 502, { ...headers, 'content-length': String(part.length) });
      res.end(part);
      return;
    }
    res.writeHead(upRes.statusCode ?? 502, headers);
    let sent = 0;
    let first = true;
    for await (const raw of upRes as AsyncIterable<Buffer>) {
      let chunk = raw;
      if (fault?.kind === 'corrupt' && first && chunk.length > 0) {
        chunk = Buffer.from(chunk);
        chunk[0] = (chunk[0] ?? 0) ^ 0xff;
      }
      first = false;
      if (fault?.kind === 'stall' && sent + chunk.length > (fault.afterBytes ?? 0)) {
        res.write(chunk.subarray(0, Math.max(0, (fault.afterBytes ?? 0) - sent)));
        upRes.destroy();
        return; // never ends: the client has to notice the silence
      }
      if (fault?.kind === 'reset' && sent + chunk.length > fault.afterBytes) {
        const part = chunk.subarray(0, Math.max(0, fault.afterBytes - sent));
        res.write(part, () => res.socket?.resetAndDestroy());
        upRes.destroy();
        return;
      }
      sent += chunk.length;
      if (fault?.kind === 'slow' && fault.chunkDelayMs) await sleep(fault.chunkDelayMs);
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  };

  const main = createServer((req, res) => {
    // a forward proxy receives absolute URIs; a reverse proxy receives paths
    const path = /^https?:\/\//.test(req.url ?? '')
      ? new URL(req.url ?? '/').pathname + new URL(req.url ?? '/').search
      : (req.url ?? '/');
    const fault = takeFault(req, path);
    proxy.requests.push({
      via: 'proxy',
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      fault: fault?.kind,
    });
    if (fault?.kind === 'stall' && fault.afterBytes === undefined) {
      req.resume(); // read the request, never answer
      return;
    }
    if (fault?.kind === 'status') {
      req.resume();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      res.writeHead(fault.status, headers);
      const code = fault.code ?? 'UNAVAILABLE';
      res.end(JSON.stringify({ errors: [{ code, message: `injected ${fault.status}` }] }));
      return;
    }
    if (fault?.kind === 'reset-request') {
      let seen = 0;
      req.on('data', (c: Buffer) => {
        seen += c.length;
        if (seen > fault.afterBytes) req.socket.resetAndDestroy();
      });
      req.on('end', () => req.socket.resetAndDestroy());
      return;
    }
    if (fault?.kind === 'redirect') {
      req.resume();
      res.writeHead(307, { location: `http://${proxy.redirectHost}${path}`, 'content-length': '0' });
      res.end();
      return;
    }
    forward(req, res, path, fault);
  });
  main.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  main.on('connect', (req, client: Socket, head: Buffer) => {
    proxy.requests.push({ via: 'connect', method: 'CONNECT', url: req.url ?? '', headers: req.headers });
    const up = connect(upPort, upHost, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });

  const target = createServer((req, res) => {
    proxy.requests.push({
      via: 'redirect-target',
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
    });
    forward(req, res, req.url ?? '/', undefined, proxy.redirectAuth);
  });
  target.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  proxy.host = `127.0.0.1:${await listen(main)}`;
  proxy.redirectHost = `127.0.0.1:${await listen(target)}`;
  proxy.stop = async () => {
    for (const s of sockets) s.destroy();
    await Promise.all([new Promise((r) => main.close(r)), new Promise((r) => target.close(r))]);
  };
  return proxy;
}
