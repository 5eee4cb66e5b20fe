/** The BuildKit methods this engine calls, with their message shapes (see proto.ts). */
import { method } from './rpc.js';

export interface PbPlatform {
  Architecture: string;
  OS: string;
  Variant?: string;
}
export interface WorkerRecord {
  ID: string;
  Labels: Record<string, string>;
  platforms: PbPlatform[];
}
export interface ApiCap {
  ID: string;
  Enabled: boolean;
  DisabledReasonMsg?: string;
}
export interface Definition {
  def: Buffer[];
  metadata: Record<string, { ignore_cache?: boolean; caps?: Record<string, boolean> }>;
}
export interface Exporter {
  Type: string;
  Attrs: Record<string, string>;
}
export interface ControlSolveRequest {
  Ref: string;
  Session: string;
  Frontend: string;
  Definition?: Definition;
  Exporters: Exporter[];
}
export interface VertexLog {
  vertex: string;
  stream: number;
  msg: Buffer;
}
export interface StatusResponse {
  vertexes: Array<{ digest: string; name: string; cached: boolean; error: string }>;
  logs: VertexLog[];
}
export interface GatewayRef {
  id: string;
  def?: Definition;
}
export interface GatewayResult {
  refDeprecated?: string;
  ref?: GatewayRef;
  metadata?: Record<string, Buffer>;
}
export interface Stat {
  path: string;
  mode: number;
  uid?: number;
  gid?: number;
  size: number;
  linkname: string;
}

const C = 'moby.buildkit.v1';
const G = 'moby.buildkit.v1.frontend';
export const control = {
  listWorkers: method<{ filter?: string[] }, { record: WorkerRecord[] }>(
    `/${C}.Control/ListWorkers`,
    `${C}.ListWorkersRequest`,
    `${C}.ListWorkersResponse`,
  ),
  solve: method<ControlSolveRequest, { ExporterResponse: Record<string, string> }>(
    `/${C}.Control/Solve`,
    `${C}.SolveRequest`,
    `${C}.SolveResponse`,
  ),
  status: method<{ Ref: string }, StatusResponse>(
    `/${C}.Control/Status`,
    `${C}.StatusRequest`,
    `${C}.StatusResponse`,
  ),
  session: method<{ data: Buffer }, { data: Buffer }>(
    `/${C}.Control/Session`,
    `${C}.BytesMessage`,
    `${C}.BytesMessage`,
  ),
};
export const gateway = {
  ping: method<object, { LLBCaps: ApiCap[]; Workers: WorkerRecord[] }>(
    `/${G}.LLBBridge/Ping`,
    `${G}.PingRequest`,
    `${G}.PongResponse`,
  ),
  solve: method<
    { Definition: Definition; Evaluate?: boolean; allowResultReturn?: boolean },
    { ref: string; result?: GatewayResult }
  >(`/${G}.LLBBridge/Solve`, `${G}.SolveRequest`, `${G}.SolveResponse`),
  readFile: method<{ Ref: string; FilePath: string }, { Data: Buffer }>(
    `/${G}.LLBBridge/ReadFile`,
    `${G}.ReadFileRequest`,
    `${G}.ReadFileResponse`,
  ),
  readDir: method<{ Ref: string; DirPath: string }, { entries: Stat[] }>(
    `/${G}.LLBBridge/ReadDir`,
    `${G}.ReadDirRequest`,
    `${G}.ReadDirResponse`,
  ),
  return: method<{ result?: GatewayResult; error?: { code: number; message: string } }, object>(
    `/${G}.LLBBridge/Return`,
    `${G}.ReturnRequest`,
    `${G}.ReturnResponse`,
  ),
};
