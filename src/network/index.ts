// CNI plugin execution with libcni's semantics (see README.md).
export * from './capabilities.ts';
export * from './cache-record.ts';
export * from './cni-args.ts';
export * from './cni-error.ts';
export * from './cni-executor.ts';
export * from './cni-names.ts';
export * from './cni-result.ts';
export * from './cni-version.ts';
export * from './conf-dir.ts';
export * from './conflist.ts';
export * from './plugin-config.ts';
export * from './result-cache.ts';
