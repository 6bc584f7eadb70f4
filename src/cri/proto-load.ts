// Loads the CRI definition (proto/api.proto, package runtime.v1) into grpc-js service definitions.
//
// The loader options are part of berthd's contract with its own code (src/cri/cri-types.ts is
// written against them):
//  - keepCase: field names stay as the proto spells them (`pod_sandbox_id`), so a request reads
//    like the CRI documentation and crictl's JSON.
//  - longs: String. Timestamps are int64 nanoseconds since the epoch (~1.7e18), far past 2^53:
//    as Numbers they would lose their last digits. Sizes and limits arrive as decimal strings too;
//    callers parse them with a range check (src/cri/int64.ts).
//  - enums: String. `'NODE'`, `'PROPAGATION_BIDIRECTIONAL'`: readable in code, tests and errors. A
//    value this proto does not know (a newer kubelet) arrives as its number and is refused where
//    it matters. On output, names and numbers are both accepted.
//  - defaults: true. Absent scalars arrive as '' / 0 / false, repeated fields as [], maps as {};
//    absent messages arrive as null (proto3 has no default message), so code checks those.
//  - oneofs: true. runtime.v1 has no oneof today; set so one added later appears as a property.
import { fileURLToPath } from 'node:url';
import { loadSync, type Options, type PackageDefinition, type ServiceDefinition } from '@grpc/proto-loader';

export const CRI_PACKAGE = 'runtime.v1';

export const CRI_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The stored api.proto; bundles that move the file pass its path to `loadCri`. */
export const CRI_PROTO_PATH = fileURLToPath(new URL('./proto/api.proto', import.meta.url));

export interface CriDefinitions {
  runtimeService: ServiceDefinition;
  imageService: ServiceDefinition;
  /** Every message and enum too, by full name (`runtime.v1.ContainerConfig`). */
  packageDefinition: PackageDefinition;
}

function service(pkg: PackageDefinition, name: string): ServiceDefinition {
  const def = pkg[`${CRI_PACKAGE}.${name}`];
  // A service definition is a map of methods; messages carry `format` instead.
  if (!def || 'format' in def) throw new Error(`${CRI_PACKAGE}.${name} is not a service in the CRI proto`);
  return def as ServiceDefinition;
}

export function loadCri(protoPath: string = CRI_PROTO_PATH): CriDefinitions {
  const packageDefinition = loadSync(protoPath, CRI_LOADER_OPTIONS);
  return {
    runtimeService: service(packageDefinition, 'RuntimeService'),
    imageService: service(packageDefinition, 'ImageService'),
    packageDefinition,
  };
}
