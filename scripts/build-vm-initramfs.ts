// npm run build:vm: berth-vm's guest initramfs from the host's Debian cloud kernel. Skips (and
// says so) on a machine without the kernel: berth-vm is then unavailable, the rest of berth is not.
import { buildAssets, findGuestKernel } from '../src/runtime/vm/assets.ts';

if (!findGuestKernel()) {
  console.warn('build:vm: skipped: no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)');
} else {
  const a = buildAssets();
  console.log(`build:vm: ${a.initrd} for ${a.release} (modules: ${a.modules.join(' ')})`);
}
