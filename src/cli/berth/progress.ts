// Progress output for long image operations: per-layer bars redrawn in place on a TTY, plain
// lines (one per state change) otherwise.
export interface ProgressItem {
  id: string;
  phase: string;
  current: number;
  total: number;
}

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 2 : 1)}${units[u]}`;
}

export function renderBar(item: ProgressItem, width = 30): string {
  const id = item.id.replace(/^sha256:/, '').slice(0, 12);
  const showBar = item.total > 0 && (item.phase === 'downloading' || item.phase === 'uploading');
  if (!showBar) return `${id}: ${item.phase}`;
  const frac = Math.max(0, Math.min(1, item.current / item.total));
  const filled = Math.round(frac * width);
  const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(width - filled);
  return `${id}: ${item.phase.padEnd(11)} [${bar}] ${formatBytes(item.current)}/${formatBytes(item.total)}`;
}

export class ProgressRenderer {
  private readonly items = new Map<string, ProgressItem>();
  private readonly order: string[] = [];
  private drawn = 0;
  private lastDraw = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty: boolean = out.isTTY === true,
  ) {}

  update(item: ProgressItem): void {
    const prev = this.items.get(item.id);
    if (!prev) this.order.push(item.id);
    this.items.set(item.id, item);
    if (!this.tty) {
      if (!prev || prev.phase !== item.phase) this.out.write(`${item.id.replace(/^sha256:/, '').slice(0, 12)}: ${item.phase}\n`);
      return;
    }
    const now = Date.now();
    if (prev && prev.phase === item.phase && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.draw();
  }

  private draw(): void {
    let s = this.drawn ? `\x1b[${this.drawn}A` : '';
    for (const id of this.order) s += `\x1b[2K${renderBar(this.items.get(id)!)}\n`;
    this.drawn = this.order.length;
    this.out.write(s);
  }

  finish(): void {
    if (this.tty && this.order.length) this.draw();
  }

  line(text: string): void {
    this.out.write(text + '\n');
  }
}
