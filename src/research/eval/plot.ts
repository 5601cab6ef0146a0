/** Line plots (training loss, held-out PSNR) drawn as SVG and rasterised to PNG by sharp. */
import sharp from 'sharp';
import { writeFileAtomic } from '../../io/atomicFile.js';

export interface Series {
  name: string;
  points: [number, number][];
  colour: string;
}

export interface Panel {
  title: string;
  yLabel: string;
  /** x-axis label (default: step) */
  xLabel?: string;
  series: Series[];
  logY?: boolean;
}

const esc = (s: string) => s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);

function fmt(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

function panelSvg(p: Panel, x0: number, y0: number, w: number, h: number): string {
  const pts = p.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!p.logY || y > 0));
  const parts: string[] = [`<text x="${x0 + w / 2}" y="${y0 + 16}" text-anchor="middle" font-size="14" font-family="sans-serif">${esc(p.title)}</text>`];
  const L = x0 + 60, R = x0 + w - 10, T = y0 + 26 + 14 * Math.max(0, p.series.length - 1), B = y0 + h - 36;
  parts.push(`<rect x="${L}" y="${T}" width="${R - L}" height="${B - T}" fill="none" stroke="#888"/>`);
  if (pts.length === 0) return parts.join('');
  const tr = (y: number) => (p.logY ? Math.log10(y) : y);
  const xs = pts.map((q) => q[0]);
  const ys = pts.map((q) => tr(q[1]));
  let xmin = Math.min(...xs), xmax = Math.max(...xs), ymin = Math.min(...ys), ymax = Math.max(...ys);
  if (xmax === xmin) xmax = xmin + 1;
  if (ymax === ymin) {
    ymax += 0.5;
    ymin -= 0.5;
  }
  const sx = (x: number) => L + ((x - xmin) / (xmax - xmin)) * (R - L);
  const sy = (y: number) => B - ((tr(y) - ymin) / (ymax - ymin)) * (B - T);
  for (let i = 0; i <= 4; i++) {
    const yv = ymin + ((ymax - ymin) * i) / 4;
    const yy = B - ((B - T) * i) / 4;
    parts.push(`<line x1="${L}" x2="${R}" y1="${yy}" y2="${yy}" stroke="#eee"/>`);
    parts.push(`<text x="${L - 4}" y="${yy + 4}" text-anchor="end" font-size="10" font-family="sans-serif">${fmt(p.logY ? 10 ** yv : yv)}</text>`);
    const xv = xmin + ((xmax - xmin) * i) / 4;
    const xx = L + ((R - L) * i) / 4;
    parts.push(`<text x="${xx}" y="${B + 14}" text-anchor="middle" font-size="10" font-family="sans-serif">${Math.round(xv)}</text>`);
  }
  parts.push(`<text x="${(L + R) / 2}" y="${B + 30}" text-anchor="middle" font-size="11" font-family="sans-serif">${esc(p.xLabel ?? 'step')}</text>`);
  parts.push(`<text x="${x0 + 14}" y="${(T + B) / 2}" text-anchor="middle" font-size="11" font-family="sans-serif" transform="rotate(-90 ${x0 + 14} ${(T + B) / 2})">${esc(p.yLabel)}</text>`);
  p.series.forEach((s, i) => {
    const d = s.points
      .filter(([, y]) => Number.isFinite(y) && (!p.logY || y > 0))
      .map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join('');
    parts.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="1.5"/>`);
    // legend above the frame, right-aligned, one line per series
    parts.push(`<text x="${R}" y="${T - 4 - 14 * (p.series.length - 1 - i)}" text-anchor="end" font-size="11" font-family="sans-serif" fill="${s.colour}">${esc(s.name)}</text>`);
  });
  return parts.join('');
}

export async function plotPanels(path: string, panels: Panel[], width = 520, height = 300, columns = panels.length): Promise<void> {
  const cols = Math.max(1, Math.min(columns, panels.length));
  const rows = Math.ceil(panels.length / cols);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width * cols}" height="${height * rows}"><rect width="100%" height="100%" fill="white"/>${panels
    .map((p, i) => panelSvg(p, (i % cols) * width, Math.floor(i / cols) * height, width, height))
    .join('')}</svg>`;
  writeFileAtomic(path, [await sharp(Buffer.from(svg)).png().toBuffer()]);
}
