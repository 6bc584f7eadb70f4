// The container service (re-exports only): see service.ts.
export { ContainerService, type ContainerServiceOptions } from './service.ts';
export type { CreateRequest, Created } from './create.ts';
export type { ContainerInfo } from './list.ts';
export type { ContainerRecord, ContainerStatus, ContainerView, ExitReason, Supervision } from './container-record.ts';
export { statusText, viewOf } from './container-record.ts';
export type { ContainerEvents, CreateStep } from './service-context.ts';
export type { KnownExit } from './exit-watch.ts';
export type { ForegroundOptions } from './run-foreground.ts';
export type { RemoveOptions } from './remove.ts';
export type { StopOptions } from './stop.ts';
export type { LogOptions } from './logs.ts';
export type { RestartOutcome } from './restart.ts';
export { parseRestartPolicy, type RestartPolicy } from './restart-policy.ts';
export { dockerInspect } from './docker-inspect.ts';
