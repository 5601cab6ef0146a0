/** A progress bar with ETA and live numbers on stderr (one updating line on a TTY, periodic lines otherwise). */
export class Progress {
  private start = Date.now();
  private lastPrint = 0;
  private readonly tty = process.stderr.isTTY === true;

  private readonly startDone: number;

  constructor(
    private total: number,
    done = 0,
    private label = '',
  ) {
    this.startDone = done;
  }

  update(done: number, info: string): void {
    const now = Date.now();
    if (!this.tty && now - this.lastPrint < 10000 && done < this.total) return;
    if (this.tty && now - this.lastPrint < 100 && done < this.total) return;
    this.lastPrint = now;
    const frac = this.total ? done / this.total : 1;
    const rate = (done - this.startDone) / Math.max((now - this.start) / 1000, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const line = `${this.label}${bar} ${done}/${this.total} ${(100 * frac).toFixed(0)}% ETA ${fmtTime(eta)} ${rate > 0 ? `${(1 / rate).toFixed(2)}s/it` : ''} ${info}`;
    if (this.tty) process.stderr.write(`\r\x1b[K${line}`);
    else process.stderr.write(`${line}\n`);
  }

  /** print a line above the bar */
  log(msg: string): void {
    if (this.tty) process.stderr.write(`\r\x1b[K${msg}\n`);
    else process.stderr.write(`${msg}\n`);
  }

  finish(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}:${String(sec).padStart(2, '0')}`;
}
