// The stored CRI proto loads with berthd's loader options, and its wire numbers are the real ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CRI_PROTO_PATH, loadCri } from '../../../src/cri/proto-load.ts';

const cri = loadCri();

interface FieldDescriptor {
  name: string;
  number: number;
}

function fieldNumbers(message: string): Record<string, number> {
  const def = cri.packageDefinition[`runtime.v1.${message}`] as unknown as { type: { field: FieldDescriptor[] } };
  return Object.fromEntries(def.type.field.map((f) => [f.name, f.number]));
}

test('the proto keeps its license header and names its source', () => {
  const text = readFileSync(CRI_PROTO_PATH, 'utf8');
  assert.match(text, /Licensed under the Apache License, Version 2\.0/);
  assert.match(text, /Copyright 2020 The Kubernetes Authors\./);
  assert.match(text, /^\/\/ Source: kubernetes\/kubernetes, staging\/src\/k8s\.io\/cri-api\/pkg\/apis\/runtime\/v1\/api\.proto at commit\n\/\/ [0-9a-f]{40} /m);
  assert.match(text, /^package runtime\.v1;$/m);
});

test('both services load with the RPCs a kubelet calls', () => {
  for (const rpc of ['Version', 'RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'PodSandboxStatus', 'ListPodSandbox',
    'CreateContainer', 'StartContainer', 'StopContainer', 'RemoveContainer', 'ListContainers', 'ContainerStatus',
    'UpdateContainerResources', 'ReopenContainerLog', 'ExecSync', 'Exec', 'Attach', 'PortForward', 'ContainerStats',
    'ListContainerStats', 'PodSandboxStats', 'ListPodSandboxStats', 'UpdateRuntimeConfig', 'Status', 'RuntimeConfig']) {
    assert.ok(cri.runtimeService[rpc], `RuntimeService.${rpc}`);
  }
  for (const rpc of ['ListImages', 'ImageStatus', 'PullImage', 'RemoveImage', 'ImageFsInfo']) assert.ok(cri.imageService[rpc], `ImageService.${rpc}`);
  assert.equal(cri.runtimeService.CreateContainer!.path, '/runtime.v1.RuntimeService/CreateContainer');
  assert.equal(cri.imageService.PullImage!.path, '/runtime.v1.ImageService/PullImage');
  assert.equal(cri.runtimeService.GetContainerEvents!.responseStream, true);
});

test('field numbers match the proto (reflection)', () => {
  assert.deepEqual(fieldNumbers('CreateContainerRequest'), { pod_sandbox_id: 1, config: 2, sandbox_config: 3 });
  const cc = fieldNumbers('ContainerConfig');
  assert.equal(cc.linux, 15);
  assert.equal(cc.log_path, 11);
  assert.equal(cc.tty, 14);
  assert.equal(cc.stop_signal, 18);
  const sc = fieldNumbers('LinuxContainerSecurityContext');
  assert.equal(sc.run_as_group, 12);
  assert.equal(sc.run_as_username, 6);
  assert.equal(sc.seccomp, 15);
  assert.equal(sc.seccomp_profile_path, 10);
  assert.equal(sc.supplemental_groups_policy, 17);
  assert.equal(fieldNumbers('LinuxSandboxSecurityContext').run_as_group, 8);
  assert.equal(fieldNumbers('PodSandboxConfig').linux, 8);
  assert.equal(fieldNumbers('LinuxContainerResources').memory_swap_limit_in_bytes, 10);
  assert.equal(fieldNumbers('ImageSpec').user_specified_image, 18);
});

test('field numbers match the proto (bytes on the wire)', () => {
  const create = cri.runtimeService.CreateContainer!;
  // pod_sandbox_id = 1, length-delimited: tag 0x0a
  assert.deepEqual([...create.requestSerialize({ pod_sandbox_id: 'p' })], [0x0a, 1, 0x70]);
  // config = 2 (tag 0x12) holding linux = 15 (tag 15<<3|2 = 0x7a), an empty message
  assert.deepEqual([...create.requestSerialize({ config: { linux: {} } })], [0x12, 2, 0x7a, 0]);
  // run_as_group = 12 inside security_context = 2: tag 12<<3|2 = 0x62
  const bytes = create.requestSerialize({ config: { linux: { security_context: { run_as_group: { value: '7' } } } } });
  assert.deepEqual([...bytes], [0x12, 8, 0x7a, 6, 0x12, 4, 0x62, 2, 0x08, 7]);
});

test('a CreateContainerRequest round-trips through protobufjs with the loader options', () => {
  const create = cri.runtimeService.CreateContainer!;
  const request = {
    pod_sandbox_id: 'a'.repeat(64),
    config: {
      metadata: { name: 'nginx', attempt: 2 },
      image: { image: 'sha256:' + 'b'.repeat(64), annotations: {}, user_specified_image: 'nginx:1.27' },
      command: ['/docker-entrypoint.sh'],
      args: ['nginx', '-g', 'daemon off;'],
      envs: [{ key: 'A', value: 'b=c' }],
      mounts: [{ container_path: '/data', host_path: '/srv/data', readonly: true, propagation: 'PROPAGATION_HOST_TO_CONTAINER' }],
      labels: { 'io.kubernetes.container.name': 'nginx' },
      linux: {
        resources: { cpu_quota: '50000', memory_limit_in_bytes: '9223372036854775807', hugepage_limits: [{ page_size: '2MB', limit: '18446744073709551615' }] },
        security_context: { namespace_options: { pid: 'CONTAINER', network: 'NODE' }, seccomp: { profile_type: 'Localhost', localhost_ref: '/p.json' } },
      },
      stop_signal: 'SIGQUIT',
    },
  };
  const back = create.requestDeserialize(create.requestSerialize(request)) as any;
  assert.equal(back.pod_sandbox_id, request.pod_sandbox_id);
  assert.deepEqual(back.config.metadata, { name: 'nginx', attempt: 2 });
  assert.deepEqual(back.config.args, ['nginx', '-g', 'daemon off;']);
  assert.deepEqual(back.config.envs, [{ key: 'A', value: 'b=c' }]);
  assert.equal(back.config.mounts[0].propagation, 'PROPAGATION_HOST_TO_CONTAINER');
  assert.equal(back.config.mounts[0].selinux_relabel, false, 'defaults: absent booleans are false');
  // int64 and uint64 keep every digit (2^63-1 and 2^64-1 are far past Number's 2^53)
  assert.equal(back.config.linux.resources.memory_limit_in_bytes, '9223372036854775807');
  assert.equal(back.config.linux.resources.hugepage_limits[0].limit, '18446744073709551615');
  assert.equal(back.config.linux.resources.cpu_period, '0');
  assert.equal(back.config.linux.security_context.namespace_options.network, 'NODE');
  assert.equal(back.config.linux.security_context.namespace_options.ipc, 'POD', 'an absent enum is its zero name');
  assert.equal(back.config.linux.security_context.seccomp.profile_type, 'Localhost');
  assert.equal(back.config.linux.security_context.run_as_user, null, 'an absent message is null');
  assert.equal(back.config.stop_signal, 'SIGQUIT');
  assert.equal(back.sandbox_config, null);
});

test('nanosecond timestamps survive a response round trip', () => {
  const status = cri.runtimeService.ContainerStatus!;
  const createdAt = '1722222222123456789';
  const back = status.responseDeserialize(status.responseSerialize({ status: { id: 'c', created_at: createdAt, state: 'CONTAINER_RUNNING', exit_code: 0 } })) as any;
  assert.equal(back.status.created_at, createdAt);
  assert.equal(back.status.state, 'CONTAINER_RUNNING');
});

test('an enum number this proto does not know arrives as its number', () => {
  const create = cri.runtimeService.CreateContainer!;
  // config(2){ linux(15){ security_context(2){ namespace_options(3){ pid(2) = 9 } } } }
  const bytes = Buffer.from([0x12, 8, 0x7a, 6, 0x12, 4, 0x1a, 2, 0x10, 9]);
  const back = create.requestDeserialize(bytes) as any;
  assert.equal(back.config.linux.security_context.namespace_options.pid, 9);
});
