/**
 * The greedy shape-fitting peer of the quality benchmark: geometrize (npm `geometrizejs`, the
 * Haxe port of fogleman's primitive), a dev dependency. Each step tries `candidates` random shapes,
 * hill-climbs each with `mutations` mutations, and adds the best one with its optimal colour at a
 * fixed alpha, over a canvas that starts as the image's mean colour.
 *
 * Greedy fitting is incremental, so the first 5 shapes of a 20-shape run are exactly a 5-shape
 * run: one run per image to the largest N gives every N, each with the time taken to reach it.
 * geometrize draws from Math.random; it is seeded per image (mulberry32) while it runs, so the
 * benchmark is reproducible.
 */
import geometrize from 'geometrizejs';
import { mixSeed, mulberry32 } from '../src/core/random.js';
import type { BenchImage, Method, MethodResult } from './qualityHarness.js';

const { Bitmap, ImageRunner, ShapeTypes } = geometrize;

export type PeerShape = 'triangle' | 'ellipse';

export interface GeometrizeOptions {
  shape: PeerShape;
  /** shape counts N, one method (table row) each */
  counts: number[];
  /** random candidate shapes per step (geometrize's candidateShapesPerStep; 50 in issue 8) */
  candidates: number;
  /** hill-climbing mutations per candidate (shapeMutationsPerStep; 100 in issue 8) */
  mutations: number;
  seed?: number;
}

/** issue 8's settings: triangles at alpha 128, opaque rotated ellipses */
export const PEER_SHAPES: Record<PeerShape, { type: number; alpha: number; plural: string }> = {
  triangle: { type: ShapeTypes.TRIANGLE, alpha: 128, plural: 'triangles' },
  ellipse: { type: ShapeTypes.ROTATED_ELLIPSE, alpha: 255, plural: 'ellipses' },
};

/** run geometrize on uint8 RGB (size²) for max(counts) shapes; the render and seconds at each count */
export function geometrizeRun(rgb: Uint8Array, size: number, o: GeometrizeOptions, seed: number): Map<number, MethodResult> {
  const counts = [...new Set(o.counts)].sort((a, b) => a - b);
  const { type, alpha } = PEER_SHAPES[o.shape];
  const random = Math.random;
  Math.random = mulberry32(seed);
  try {
    const t0 = performance.now();
    const rgba = Buffer.alloc(size * size * 4);
    const mean = [0, 0, 0];
    for (let i = 0; i < size * size; i++) {
      for (let c = 0; c < 3; c++) {
        rgba[4 * i + c] = rgb[3 * i + c]!;
        mean[c]! += rgb[3 * i + c]!;
      }
      rgba[4 * i + 3] = 255;
    }
    const [r, g, b] = mean.map((v) => Math.round(v / (size * size)));
    // geometrize packs colours as 0xRRGGBBAA; the typings omit the runner's background argument
    const background = ((r! << 24) >>> 0) + (g! << 16) + (b! << 8) + 255;
    const Runner = ImageRunner as unknown as new (bitmap: geometrize.Bitmap, background: number) => geometrize.ImageRunner;
    const runner = new Runner(Bitmap.createFromByteArray(size, size, rgba), background);
    const out = new Map<number, MethodResult>();
    const options = { shapeTypes: [type], alpha, candidateShapesPerStep: o.candidates, shapeMutationsPerStep: o.mutations };
    for (let n = 1; n <= counts.at(-1)!; n++) {
      runner.step(options);
      if (!counts.includes(n)) continue;
      const bytes = runner.getImageData().getBytes().b;
      const render = new Float32Array(size * size * 3);
      for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) render[3 * i + c] = bytes[4 * i + c]! / 255;
      out.set(n, { render, layers: n, seconds: (performance.now() - t0) / 1000 });
    }
    return out;
  } finally {
    Math.random = random;
  }
}

/** one method per count N; the methods share one run per image (the largest N) */
export function geometrizeMethods(o: GeometrizeOptions): Method[] {
  const counts = [...new Set(o.counts)].sort((a, b) => a - b);
  if (counts.length === 0 || !counts.every((n) => Number.isInteger(n) && n >= 1)) throw new Error(`geometrize shape counts must be positive integers, got ${o.counts.join(',')}`);
  const { plural } = PEER_SHAPES[o.shape];
  const memo = new Map<string, { results: Map<number, MethodResult>; taken: number }>();
  const take = (img: BenchImage, n: number): MethodResult => {
    const key = `${img.size}/${img.index}`;
    let e = memo.get(key);
    if (!e) memo.set(key, (e = { results: geometrizeRun(img.rgb, img.size, o, mixSeed(o.seed ?? 1, img.index + 1)), taken: 0 }));
    if (++e.taken === counts.length) memo.delete(key);
    return e.results.get(n)!;
  };
  const alpha = PEER_SHAPES[o.shape].alpha;
  return counts.map((n) => ({
    name: `geometrize ${n} ${plural}`,
    short: `geometrize ${n} ${o.shape === 'triangle' ? 'tri' : 'ell'}`,
    note: n === counts[0] ? `${plural} at alpha ${alpha}, ${o.candidates} candidates × ${o.mutations} mutations per shape, background = mean colour; ms per image = time to reach N shapes in one greedy run` : undefined,
    run: (img: BenchImage) => take(img, n),
  }));
}
