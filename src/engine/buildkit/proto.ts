/**
 * The subset of BuildKit's wire protocol this engine speaks, written from BuildKit's published .proto files
 * (control, gateway, ops, worker, caps, session auth/filesync, fsutil stat, grpc health). Field numbers and
 * types follow those files; messages and fields we never send or read are left out (protobuf skips unknown
 * fields on decode). Parsed once at start-up with protobufjs.
 */
import protobuf from 'protobufjs';

const OPS = `
syntax = "proto3";
package pb;
message Op {
  repeated Input inputs = 1;
  Platform platform = 10;
  oneof op { ExecOp exec = 2; SourceOp source = 3; FileOp file = 4; MergeOp merge = 6; DiffOp diff = 7; }
}
message Platform { string Architecture = 1; string OS = 2; string Variant = 3; string OSVersion = 4; }
message Input { string digest = 1; int64 index = 2; }
message ExecOp { Meta meta = 1; repeated Mount mounts = 2; int32 network = 3; int32 security = 4; }
message Meta {
  repeated string args = 1; repeated string env = 2; string cwd = 3; string user = 4;
  string hostname = 7; bool removeMountStubsRecursive = 11; repeated int32 validExitCodes = 12;
}
message Mount {
  int64 input = 1; string selector = 2; string dest = 3; int64 output = 4; bool readonly = 5;
  int32 mountType = 6; TmpfsOpt TmpfsOpt = 19; CacheOpt cacheOpt = 20;
}
message TmpfsOpt { int64 size = 1; }
message CacheOpt { string ID = 1; int32 sharing = 2; }
message SourceOp { string identifier = 1; map<string, string> attrs = 2; }
message FileOp { repeated FileAction actions = 2; }
message FileAction { int64 input = 1; int64 secondaryInput = 2; int64 output = 3; oneof action { FileActionMkFile mkfile = 5; } }
message FileActionMkFile { string path = 1; int32 mode = 2; bytes data = 3; int64 timestamp = 5; }
message MergeInput { int64 input = 1; }
message MergeOp { repeated MergeInput inputs = 1; }
message LowerDiffInput { int64 input = 1; }
message UpperDiffInput { int64 input = 1; }
message DiffOp { LowerDiffInput lower = 1; UpperDiffInput upper = 2; }
message OpMetadata { bool ignore_cache = 1; map<string, string> description = 2; map<string, bool> caps = 5; }
message Definition { repeated bytes def = 1; map<string, OpMetadata> metadata = 2; }
`;

const TYPES = `
syntax = "proto3";
package moby.buildkit.v1.types;
message WorkerRecord { string ID = 1; map<string, string> Labels = 2; repeated pb.Platform platforms = 3; }
`;

const CAPS = `
syntax = "proto3";
package moby.buildkit.v1.apicaps;
message APICap { string ID = 1; bool Enabled = 2; bool Deprecated = 3; string DisabledReason = 4;
  string DisabledReasonMsg = 5; string DisabledAlternative = 6; }
`;

const CONTROL = `
syntax = "proto3";
package moby.buildkit.v1;
message SolveRequest {
  string Ref = 1; pb.Definition Definition = 2; string Session = 5; string Frontend = 6;
  map<string, string> FrontendAttrs = 7; repeated string Entitlements = 9; repeated Exporter Exporters = 13;
}
message Exporter { string Type = 1; map<string, string> Attrs = 2; }
message SolveResponse { map<string, string> ExporterResponse = 1; }
message StatusRequest { string Ref = 1; }
message StatusResponse { repeated Vertex vertexes = 1; repeated VertexLog logs = 3; }
message Vertex { string digest = 1; string name = 3; bool cached = 4; string error = 7; }
message VertexLog { string vertex = 1; int64 stream = 3; bytes msg = 4; }
message BytesMessage { bytes data = 1; }
message ListWorkersRequest { repeated string filter = 1; }
message ListWorkersResponse { repeated moby.buildkit.v1.types.WorkerRecord record = 1; }
`;

const GATEWAY = `
syntax = "proto3";
package moby.buildkit.v1.frontend;
message Result { oneof result { string refDeprecated = 1; Ref ref = 3; RefMap refs = 4; } map<string, bytes> metadata = 10; }
message Ref { string id = 1; pb.Definition def = 2; }
message RefMap { map<string, Ref> refs = 1; }
message ReturnRequest { Result result = 1; Status error = 2; }
message Status { int32 code = 1; string message = 2; }
message ReturnResponse {}
message SolveRequest { pb.Definition Definition = 1; bool allowResultReturn = 5; bool Final = 10; bool Evaluate = 14; }
message SolveResponse { string ref = 1; Result result = 3; }
message ReadFileRequest { string Ref = 1; string FilePath = 2; }
message ReadFileResponse { bytes Data = 1; }
message ReadDirRequest { string Ref = 1; string DirPath = 2; string IncludePattern = 3; }
message ReadDirResponse { repeated fsutil.types.Stat entries = 1; }
message PingRequest {}
message PongResponse { repeated moby.buildkit.v1.apicaps.APICap FrontendAPICaps = 1;
  repeated moby.buildkit.v1.apicaps.APICap LLBCaps = 2; repeated moby.buildkit.v1.types.WorkerRecord Workers = 3; }
`;

const FSUTIL = `
syntax = "proto3";
package fsutil.types;
message Stat { string path = 1; uint32 mode = 2; uint32 uid = 3; uint32 gid = 4; int64 size = 5; int64 modTime = 6;
  string linkname = 7; }
`;

const SESSION = `
syntax = "proto3";
package moby.filesync.v1;
message CredentialsRequest { string Host = 1; }
message CredentialsResponse { string Username = 1; string Secret = 2; }
message FetchTokenRequest { string ClientID = 1; string Host = 2; string Realm = 3; string Service = 4; repeated string Scopes = 5; }
message FetchTokenResponse { string Token = 1; int64 ExpiresIn = 2; int64 IssuedAt = 3; }
message GetTokenAuthorityRequest { string Host = 1; bytes Salt = 2; }
message GetTokenAuthorityResponse { bytes PublicKey = 1; }
message BytesMessage { bytes data = 1; }
`;

const HEALTH = `
syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse { int32 status = 1; }
`;

const root = new protobuf.Root();
for (const text of [OPS, TYPES, CAPS, CONTROL, GATEWAY, FSUTIL, SESSION, HEALTH]) {
  protobuf.parse(text, root, { keepCase: true });
}
root.resolveAll();

/** A message type: encode a plain object, decode to a plain object (int64 as number, bytes as Buffer). */
export interface Codec<T> {
  encode(value: T): Buffer;
  decode(bytes: Buffer): T;
}

/**
 * Drop proto3 default scalars (0, false, '', empty lists) the way Go's marshaller leaves them out: BuildKit
 * re-marshals every op and names it by the digest of those bytes, so ours must be byte-identical.
 */
function omitDefaults(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(omitDefaults);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || v === 0 || v === false || v === '' || (Array.isArray(v) && v.length === 0))
      continue;
    out[k] = omitDefaults(v);
  }
  return out;
}

export function codec<T>(name: string): Codec<T> {
  const type = root.lookupType(name);
  return {
    encode: (value) => Buffer.from(type.encode(type.fromObject(omitDefaults(value) as object)).finish()),
    decode: (bytes) =>
      type.toObject(type.decode(bytes), {
        longs: Number,
        bytes: Buffer,
        defaults: true,
        arrays: true,
        objects: true,
      }) as T,
  };
}

/** a length-delimited field (tag + length + bytes), for building a message by hand */
export function field(fieldNumber: number, bytes: Buffer): Buffer {
  return Buffer.from(
    protobuf.Writer.create()
      .uint32((fieldNumber << 3) | 2)
      .bytes(bytes)
      .finish(),
  );
}
