import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectManifestKind, parseImageConfig, parseIndex, parseManifest } from '../../../src/oci/image-parse.ts';
import { MediaType, layerCompression } from '../../../src/oci/image-spec.ts';
import { hostPlatform, parsePlatformString, platformMatches, selectPlatformManifest } from '../../../src/oci/image-platform.ts';
import { sha256Of } from '../../../src/oci/digest.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const d = (s: string) => sha256Of(s);
const manifest = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: d('c'), size: 10 },
  layers: [{ mediaType: MediaType.ociLayerGzip, digest: d('l'), size: 20 }],
};

test('parses a manifest and refuses bad fields with the field named', () => {
  const m = parseManifest(JSON.stringify(manifest));
  assert.equal(m.layers[0]?.digest, d('l'));
  assert.throws(() => parseManifest(JSON.stringify({ ...manifest, layers: [{ ...manifest.layers[0], size: -1 }] })), /layers\[0\]\.size/);
  assert.throws(() => parseManifest(JSON.stringify({ ...manifest, config: { ...manifest.config, digest: 'sha256:zz' } })), /invalid sha256 digest/);
  assert.throws(() => parseManifest('{'), /not valid JSON/);
  assert.throws(() => parseManifest(JSON.stringify({ ...manifest, schemaVersion: 1 })), (e: unknown) => e instanceof BerthError && e.kind === 'unimplemented');
  assert.throws(() => parseManifest(JSON.stringify({ ...manifest, mediaType: 'text/plain' })), /unsupported manifest media type/);
});

test('detects index vs manifest', () => {
  const idx = { schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests: [] };
  assert.equal(detectManifestKind(Buffer.from(JSON.stringify(idx))), 'index');
  assert.equal(detectManifestKind(Buffer.from(JSON.stringify(manifest))), 'manifest');
  assert.equal(detectManifestKind(Buffer.from('{}'), MediaType.ociIndex), 'index');
  assert.throws(() => detectManifestKind(Buffer.from(JSON.stringify({ schemaVersion: 1 }))), /schema 1/);
  assert.throws(() => detectManifestKind(Buffer.from(JSON.stringify({ mediaType: 'application/x-foo' }))), /unsupported manifest media type/);
  assert.equal(parseIndex(JSON.stringify(idx)).manifests.length, 0);
});

test('parses an image config', () => {
  const c = parseImageConfig(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [d('x')] } }));
  assert.deepEqual(c.rootfs.diff_ids, [d('x')]);
  assert.deepEqual(c.config?.Cmd, ['sh']);
  assert.throws(() => parseImageConfig(JSON.stringify({ rootfs: { type: 'layers', diff_ids: ['nope'] } })), /diff_ids|digest/);
  assert.throws(() => parseImageConfig(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [] }, config: { Cmd: 'sh' } })), /config\.Cmd/);
});

test('layer compression from media type', () => {
  assert.equal(layerCompression(MediaType.dockerLayerGzip), 'gzip');
  assert.equal(layerCompression(MediaType.ociLayerZstd), 'zstd');
  assert.equal(layerCompression(MediaType.ociLayer), 'none');
  assert.equal(layerCompression('application/x-unknown'), undefined);
});

test('platform selection', () => {
  assert.deepEqual(hostPlatform('x64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatformString('linux/aarch64'), { os: 'linux', architecture: 'arm64' });
  assert.ok(platformMatches(parsePlatformString('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }));
  assert.ok(platformMatches(parsePlatformString('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v6' }));
  assert.ok(!platformMatches(parsePlatformString('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v7' }));
  const list = [
    { mediaType: MediaType.ociManifest, digest: d('1'), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
    { mediaType: MediaType.ociManifest, digest: d('2'), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    { mediaType: MediaType.ociManifest, digest: d('3'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: MediaType.ociManifest, digest: d('4'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
  ];
  assert.equal(selectPlatformManifest(list, parsePlatformString('linux/arm/v7'), 'x').digest, d('2'));
  assert.equal(selectPlatformManifest(list, parsePlatformString('linux/amd64'), 'x').digest, d('3'));
  assert.throws(() => selectPlatformManifest(list, parsePlatformString('linux/s390x'), 'img'),
    (e: unknown) => e instanceof BerthError && e.kind === 'not-found' && /available: linux\/arm\/v6/.test(e.message));
  assert.throws(() => parsePlatformString('linux'), /os\/arch/);
});
