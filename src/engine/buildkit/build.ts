/**
 * One BuildKit build driven from this process (BuildKit's "gateway in the client" mode): Control.Solve with
 * no frontend waits while we solve LLB through the LLBBridge (metadata names the build), read files from the
 * results, and finally Return the state to export. Logs of every exec arrive on Control.Status by vertex.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { CopaError } from '../../errors.js';
import type { Logger } from '../../log.js';
import {
  control,
  gateway,
  type ApiCap,
  type Exporter,
  type GatewayResult,
  type Stat,
  type VertexLog,
} from './api.js';
import { definition, type State } from './llb.js';
import { grpcMessage, type Rpc } from './rpc.js';
import type { Session } from './session.js';

const BUILD_ID_KEY = 'buildkit-controlapi-buildid';

export interface Logs {
  stdout: string;
  stderr: string;
}

export class Build {
  readonly ref = randomBytes(12).toString('hex');
  private readonly logs = new Map<string, Logs>();
  private readonly listeners = new Map<string, (stream: 'stdout' | 'stderr', data: string) => void>();
  private readonly solved: Promise<Record<string, string>>;
  private status: grpc.ClientReadableStream<unknown> | undefined;
  private returned = false;

  constructor(
    private readonly rpc: Rpc,
    private readonly session: Session,
    exporters: Exporter[],
    private readonly logger: Logger,
    /** Ctrl-C / --timeout: cancels the call in flight, which cancels the daemon's step */
    private readonly signal?: AbortSignal,
  ) {
    this.solved = rpc
      .unary(control.solve, { Ref: this.ref, Session: session.id, Frontend: '', Exporters: exporters })
      .then((r) => r.ExporterResponse);
    this.solved.catch(() => undefined);
    const status = rpc.serverStream(control.status, { Ref: this.ref });
    status.on('data', (s: { logs: VertexLog[] }) => {
      for (const l of s.logs) {
        const entry = this.logs.get(l.vertex) ?? { stdout: '', stderr: '' };
        const text = l.msg.toString('utf8');
        const stream = l.stream === 2 ? 'stderr' : 'stdout';
        entry[stream] += text;
        this.logs.set(l.vertex, entry);
        this.listeners.get(l.vertex)?.(stream, text);
      }
    });
    status.on('error', (e) => logger.debug(`BuildKit status: ${grpcMessage(e)}`));
    this.status = status;
  }

  /** another build on the same daemon and session that exports nothing: reads after this one has ended */
  sibling(): Build {
    return new Build(this.rpc, this.session, [], this.logger, this.signal);
  }

  private meta(): grpc.Metadata {
    const m = new grpc.Metadata();
    m.set(BUILD_ID_KEY, this.ref);
    return m;
  }

  /** the daemon's LLB capabilities (the build must be running) */
  async caps(): Promise<ApiCap[]> {
    return (await this.rpc.unary(gateway.ping, {}, this.meta())).LLBCaps;
  }

  /** solve `state` now; returns the result's ref id for reads */
  async solve(state: State, onOutput?: (stream: 'stdout' | 'stderr', data: string) => void): Promise<string> {
    if (onOutput) this.listeners.set(state.vertex.digest, onOutput);
    try {
      const r = await this.rpc.unary(
        gateway.solve,
        { Definition: definition(state), Evaluate: true, allowResultReturn: true },
        this.meta(),
        this.signal,
      );
      return r.result?.ref?.id || r.result?.refDeprecated || r.ref;
    } finally {
      this.listeners.delete(state.vertex.digest);
    }
  }

  /** what an exec printed (gathered from the status stream; may trail the solve by a moment) */
  async output(state: State): Promise<Logs> {
    await new Promise((r) => setTimeout(r, 50));
    return this.logs.get(state.vertex.digest) ?? { stdout: '', stderr: '' };
  }

  async readFile(ref: string, path: string): Promise<Buffer | undefined> {
    try {
      return (await this.rpc.unary(gateway.readFile, { Ref: ref, FilePath: path }, this.meta(), this.signal))
        .Data;
    } catch (e) {
      if (/no such file|not a directory/i.test(grpcMessage(e))) return undefined;
      throw e;
    }
  }

  async readDir(ref: string, path: string): Promise<Stat[] | undefined> {
    try {
      return (await this.rpc.unary(gateway.readDir, { Ref: ref, DirPath: path }, this.meta(), this.signal))
        .entries;
    } catch (e) {
      if (/no such file|not a directory/i.test(grpcMessage(e))) return undefined;
      throw e;
    }
  }

  /** hand `state` (or nothing) to the exporters and wait for the build to finish */
  async finish(state: State | undefined): Promise<Record<string, string>> {
    this.returned = true;
    let result: GatewayResult = {};
    if (state) {
      const ref = await this.solve(state);
      result = { ref: { id: ref, def: definition(state) } };
    }
    await this.rpc.unary(gateway.return, { result }, this.meta());
    try {
      return await this.solved;
    } catch (e) {
      throw new CopaError('ENGINE', `BuildKit export failed: ${grpcMessage(e)}`, {
        hint: 'run with --debug for the daemon log lines',
      });
    }
  }

  /** end a build that exports nothing (errors, no changes) */
  async abort(message: string): Promise<void> {
    if (!this.returned) {
      this.returned = true;
      await this.rpc
        .unary(gateway.return, { error: { code: grpc.status.CANCELLED, message } }, this.meta())
        .catch((e: unknown) => this.logger.debug(`BuildKit: return failed: ${grpcMessage(e)}`));
    }
    await this.solved.catch(() => undefined);
    this.close();
  }

  close(): void {
    this.status?.cancel();
  }
}

/** the exit code in BuildKit's "did not complete successfully: exit code: N" */
export function exitCodeOf(message: string): number | undefined {
  const m = /exit code: (\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}
