// Whether berth-vm can run here: QEMU and the guest image (npm run build:vm) must exist.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { QEMU, VIRTIOFSD } from '../../src/runtime/vm/qemu-args.ts';
import { repoRoot } from './cli.ts';

export function vmSkipReason(): string | false {
  if (!existsSync(QEMU)) return `berth-vm tests need QEMU (${QEMU}: apt-get install qemu-system-x86)`;
  if (!existsSync(VIRTIOFSD)) return `berth-vm tests need virtiofsd (${VIRTIOFSD}, from qemu-system-common)`;
  const manifest = join(process.env.BERTH_VM_ASSETS ?? join(repoRoot, 'native/build/berth-vm'), 'manifest.json');
  if (!existsSync(manifest)) return 'berth-vm tests need the guest image: install linux-image-cloud-amd64 and run npm run build:vm';
  return false;
}
