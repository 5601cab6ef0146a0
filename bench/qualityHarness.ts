/**
 * The quality benchmark harness (issue 8, `npm run bench:quality`): a list of methods, each a
 * function image -> { render, layers, seconds }, run on the same images at several sizes and
 * measured the same way — PSNR (src/core/psnr.ts) and SSIM (src/research/eval/ssim.ts) of the render
 * against the image, both averaged over images, seconds per image, and for layered methods the
 * share of layers that contribute less than 0.1 dB (src/eval/contribution.ts). Results: a Markdown
 * table per size, a JSON file and one side-by-side picture per size.
 *
 * Methods here: Stratum amortized (one forward pass of a trained model at its own size S, the
 * layers rendered at the benchmark size: masks are resolution-free), Stratum + refinement (today's
 * src/model/refine.ts at S), one flat colour (the mean) and N-colour quantisation. The greedy
 * shape-fitting peer (geometrize, a dev dependency) lives in bench/geometrize.ts. Another method is
 * one more entry of the list: layeredMethod() turns any "image -> layers" function into one.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PLACE_DEFAULTS, type MaskNetConfig } from '../src/config.js';
import type { ParamStore } from '../src/core/params.js';
import { renderLayers, type Layer } from '../src/core/render.js';
import type { ImageSet } from '../src/data/imageSet.js';
import { writeFileAtomic } from '../src/io/atomicFile.js';
import type { Decomposer } from '../src/model/decomposer.js';
import { decomposeImage } from '../src/model/decomposeImage.js';
import { refineLayers } from '../src/model/refine.js';
import { contributionsFromMasks, NEAR_USELESS_DB, nearUselessShare } from '../src/eval/contribution.js';
import { writeGrid, type Tile } from '../src/eval/grid.js';
import { psnrOf } from '../src/core/psnr.js';
import { quantizeRgb } from '../src/research/eval/quantize.js';
import { ssim } from '../src/research/eval/ssim.js';
import { gmsd } from '../src/research/eval/gmsd.js';
import { softShareOfMasks } from '../src/eval/soft.js';
import { decomposeFrame } from '../src/model/decomposeFrame.js';
import { renderDocument } from '../src/core/document.js';

/** one benchmark image at the size being measured */
export interface BenchImage {
  /** position in the set; the same photo has the same index at every size (−1: a warm-up run) */
  index: number;
  name: string;
  size: number;
  /** uint8 RGB, size·size·3 */
  rgb: Uint8Array;
  /** the same photo built at another size (a model's training size), uint8 RGB */
  at(size: number): Uint8Array;
}

export interface MethodResult {
  /** RGB floats in [0, 1], size·size·3 */
  render: Float32Array;
  /** layers (or shapes) used; absent for methods without layers */
  layers?: number;
  /** wall-clock seconds to produce `render` from the image */
  seconds: number;
  /** per layer, PSNR (dB) lost when it alone is removed, at this size (layered methods) */
  contributions?: number[];
  /** soft share of the layers' masks at this size (src/eval/soft.ts; layered methods) */
  soft?: number;
  /** seconds of the exact render through the mask network at this size, not in `seconds` (placed layers: `seconds` ends with the decomposition's own picture of the document) */
  renderSeconds?: number;
}

export interface Method {
  /** row label in the table */
  name: string;
  /** caption in the picture (about 20 characters fit a 128-pixel tile) */
  short: string;
  /** the model file or setting the row comes from, for the table's notes */
  note?: string;
  run(img: BenchImage): MethodResult | Promise<MethodResult>;
  /** called before the method runs at a size, with the rows finished at that size (a time budget from a peer's row) */
  prepare?(size: number, rows: QualityRow[]): void;
}

const toFloat = (rgb: Uint8Array) => Float32Array.from(rgb, (v) => v / 255);

const now = () => performance.now() / 1000;

/** untimed runs of each method before its timed ones (runQuality) */
export const WARM_UP = 5;

/** a decomposition into layers with the mask network that renders them */
export interface Decomposed {
  layers: Layer[];
  store: ParamStore;
  mask: MaskNetConfig;
  /** the reference grid of per-image GroupNorm statistics (the model's training size) */
  referenceSize: number;
  /** seconds the decomposition took */
  seconds: number;
  /** the render and masks the decomposition already made at its own size (a model's forward pass), reused at that size */
  rendered?: { size: number; rgb: Float32Array; masks: Float32Array[] };
}

/**
 * A method from any "image -> layers" function: the layers are rendered at the benchmark size
 * (timed, added to the decomposition's seconds) and each layer's contribution is measured from
 * the rendered masks (not timed).
 */
export function layeredMethod(name: string, short: string, decompose: (img: BenchImage) => Decomposed | Promise<Decomposed>, note?: string): Method {
  return {
    name,
    short,
    note,
    async run(img) {
      const d = await decompose(img);
      const t0 = now();
      const r = d.rendered?.size === img.size ? d.rendered : renderLayers(d.store, d.mask, d.layers, { width: img.size, height: img.size, referenceSize: d.referenceSize, keepMasks: true });
      const seconds = d.seconds + (now() - t0);
      const { contributions } = contributionsFromMasks(r.masks!, d.layers, toFloat(img.rgb));
      const soft = softShareOfMasks(r.masks!.filter((_, t) => d.layers[t]!.visible !== false));
      return { render: r.rgb, layers: d.layers.filter((l) => l.visible !== false).length, seconds, contributions, soft };
    },
  };
}

/**
 * The model's layers for uint8 RGB at its size S (one forward pass, inference BatchNorm), with the
 * forward pass's own render and masks at S (the same as rendering the layers at S).
 */
export function predictLayers(model: Decomposer, rgb: Uint8Array, leastSquares = true, shapes = true): { layers: Layer[]; rgb: Float32Array; masks: Float32Array[] } {
  // the one forward path decompose uses (src/model/decomposeImage.ts)
  const d = decomposeImage(model, rgb, { leastSquares, shapes });
  return {
    layers: d.doc.layers.map((l) => ({ p: l.p, colour: l.colour, visible: true })),
    rgb: d.canvas,
    masks: d.steps.map((s) => s.mask),
  };
}

/**
 * Stratum amortized, and with `refineSteps` > 0 followed by today's per-image refinement
 * (src/model/refine.ts: Adam on L1 at the model's size S). The model always sees the photo at S,
 * so its layers do not depend on the benchmark size: each photo is decomposed once and the
 * decomposition (with its seconds) reused at every size; only the render is redone per size. At S
 * itself the amortized row's render is the forward pass's own canvas (no second render).
 */
export function stratumMethod(model: Decomposer, o: { label: string; short?: string; refineSteps?: number; refineLr?: number; encoderColours?: boolean; shapes?: boolean }): Method {
  const S = model.cfg.size;
  const cache = new Map<number, Omit<Decomposed, 'store' | 'mask' | 'referenceSize'>>();
  const refine = o.refineSteps ?? 0;
  const noSwaps = o.shapes === false && !o.encoderColours && model.shapeBank() !== null;
  const colourNote = o.encoderColours ? ", the encoder's colours" : noSwaps ? ', no shape swaps (restacked)' : '';
  const name = refine > 0 ? `Stratum ${o.label} + refinement (${refine} steps)` : `Stratum ${o.label}${colourNote}`;
  const tag = o.short ?? o.label;
  const short = refine > 0 ? `${tag} +${refine} refine` : `Stratum ${tag}${o.encoderColours ? ' enc. colours' : noSwaps ? ' no swaps' : ''}`;
  return layeredMethod(
    name,
    short,
    (img) => {
      let hit = img.index >= 0 ? cache.get(img.index) : undefined;
      if (!hit) {
        const rgb = img.at(S);
        const t0 = now();
        const predicted = predictLayers(model, rgb, !o.encoderColours, o.shapes ?? true);
        hit =
          refine > 0
            ? { layers: refineLayers(model.store, model.cfg.mask, S, predicted.layers, { rgb: toFloat(rgb), size: S }, { steps: refine, budgetMs: 0, lr: o.refineLr }).layers, seconds: now() - t0 }
            : { layers: predicted.layers, seconds: now() - t0, rendered: { size: S, rgb: predicted.rgb, masks: predicted.masks } };
        if (img.index >= 0) cache.set(img.index, hit);
      }
      return { ...hit, store: model.store, mask: model.cfg.mask, referenceSize: S };
    },
    `T=${model.cfg.T}, K=${model.cfg.mask.K}, ${model.cfg.encoder} encoder, runs at ${S}²`,
  );
}

/**
 * Stratum at N layers (src/model/decomposeFrame.ts): the encoder's T layers, then N − T placed
 * layers of the learned shape family fitted at the benchmark size. Its time budget per image is
 * `budgetShare` of the seconds the row named `budgetFrom` took at this size (greedy shape fitting
 * with N shapes, measured earlier in the same run), or `budgetMs`. `seconds` is the decomposition:
 * the document and its picture at the fit size; the exact render through the mask network (the
 * PSNR's image) is timed apart, in `renderSeconds`.
 */
export function placedMethod(model: Decomposer, o: { layers: number; budgetMs?: number; budgetFrom?: string; budgetShare?: number; short?: string; crisp?: boolean }): Method {
  let budgetMs = o.budgetMs ?? 0;
  return {
    name: `Stratum ${o.layers} layers${o.crisp === false ? ' --soft' : ''} (≤ ${model.cfg.T} encoder + placed, refined)${o.budgetFrom ? `, ${Math.round(100 * (o.budgetShare ?? 1))} % of ${o.budgetFrom}'s time` : budgetMs ? `, ${budgetMs} ms budget` : ''}`,
    short: o.short ?? `Stratum ${o.layers}`,
    note: `decompose --layers ${o.layers}${o.crisp === false ? ' --soft' : ''}${o.crisp === false ? '' : ' (crisp)'}: the encoder's whole-frame layers worth ≥ ${PLACE_DEFAULTS.dropDb} dB, placed layers for the rest (src/model/place.ts), refined jointly (src/model/placeRefine.ts), colours by least squares; exact render timed apart`,
    prepare(size, rows) {
      if (!o.budgetFrom) return;
      const peer = rows.find((r) => r.size === size && r.method === o.budgetFrom);
      if (!peer) throw new Error(`${this.name}: no row '${o.budgetFrom}' at ${size}² to take its time from (run it first)`);
      budgetMs = 1000 * peer.secondsPerImage * (o.budgetShare ?? 1);
    },
    run(img) {
      const t0 = now();
      const d = decomposeFrame(model, { width: img.size, height: img.size, rgb: img.rgb }, { layers: o.layers, budgetMs, fitSize: img.size, crisp: o.crisp });
      const seconds = now() - t0;
      const t1 = now();
      const r = renderDocument(d.doc, img.size, img.size, { keepMasks: true });
      const renderSeconds = now() - t1;
      const soft = softShareOfMasks(r.masks!, d.doc.layers.map((l) => l.opacity ?? 1));
      return { render: r.rgb, layers: d.doc.layers.length, seconds, renderSeconds, contributions: d.contributions, soft };
    },
  };
}

/** the whole image in its mean colour */
export function flatMethod(): Method {
  return {
    name: 'one flat colour (the mean)',
    short: 'flat mean colour',
    run(img) {
      const t0 = now();
      const n = img.size * img.size;
      const mean = [0, 0, 0];
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) mean[c]! += img.rgb[3 * i + c]! / 255 / n;
      const render = new Float32Array(n * 3);
      for (let i = 0; i < n; i++) render.set(mean, 3 * i);
      return { render, layers: 1, seconds: now() - t0 };
    },
  };
}

/** colour quantisation (image-q, src/research/eval/quantize.ts) */
export function quantizeMethod(colours = 20): Method {
  return {
    name: `${colours}-colour quantisation`,
    short: `${colours} colours`,
    run(img) {
      const t0 = now();
      const q = quantizeRgb(img.rgb, img.size, img.size, colours);
      return { render: toFloat(q), seconds: now() - t0 };
    },
  };
}

export interface QualityRow {
  size: number;
  method: string;
  images: number;
  /** mean layers / shapes per image ('' when the method has none) */
  layers: number | '';
  psnr: number;
  ssim: number;
  secondsPerImage: number;
  /** share of layers contributing less than NEAR_USELESS_DB (layered methods) */
  nearUseless?: number;
  /** gradient magnitude similarity deviation (src/research/eval/gmsd.ts; lower is better) */
  gmsd: number;
  /** mean soft share of the layers' masks at this size (layered methods) */
  soft?: number;
  /** exact render seconds per image, when apart from secondsPerImage */
  renderSecondsPerImage?: number;
}

export interface QualityOptions {
  sizes: number[];
  /** the benchmark images at a size (the same photos, in the same order, at every size) */
  setAt: (size: number) => ImageSet & { names?: string[] };
  methods: Method[];
  /** images shown in each side-by-side picture */
  show?: number;
  /** write quality.md, quality.json and quality-SIZE.png here */
  out?: string;
  /** keep every render in the result (tests) */
  keepRenders?: boolean;
  /** called after each (image, method) run with done and total counts */
  onProgress?: (done: number, total: number, info: string) => void;
  /** what the table's heading says about the run (command, machine) */
  title?: string;
}

export interface QualityResult {
  rows: QualityRow[];
  /** renders[size][method][image] when keepRenders */
  renders?: Map<number, Float32Array[][]>;
  markdown: string;
  files: string[];
}

/** evenly spread image indices to show */
export function spread(n: number, k: number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: k }, (_, i) => Math.floor(((i + 0.5) * n) / k));
}

export async function runQuality(o: QualityOptions): Promise<QualityResult> {
  if (o.sizes.length === 0) throw new Error('no benchmark sizes');
  if (o.methods.length === 0) throw new Error('no methods to benchmark');
  const sets = new Map(o.sizes.map((s) => [s, o.setAt(s)]));
  const n = sets.get(o.sizes[0]!)!.n;
  for (const [s, set] of sets) {
    if (set.n !== n) throw new Error(`the benchmark set has ${set.n} images at ${s}² but ${n} at ${o.sizes[0]}²`);
    if (set.size !== s) throw new Error(`asked for images at ${s}², got ${set.size}²`);
  }
  if (n === 0) throw new Error('the benchmark set is empty');
  const other = new Map<number, ImageSet>();
  const imageAt = (size: number, i: number): Uint8Array => {
    let set = sets.get(size) ?? other.get(size);
    if (!set) other.set(size, (set = o.setAt(size)));
    const px = size * size * 3;
    return set.data.subarray(i * px, (i + 1) * px);
  };
  const image = (size: number, i: number): BenchImage => ({
    index: i,
    name: sets.get(size)!.names?.[i] ?? `image ${i}`,
    size,
    rgb: imageAt(size, i),
    at: (s) => imageAt(s, i),
  });
  const total = o.sizes.length * n * o.methods.length;
  let done = 0;
  const rows: QualityRow[] = [];
  const renders = o.keepRenders ? new Map<number, Float32Array[][]>() : undefined;
  const shown = spread(n, o.show ?? 6);
  const files = new Set<string>();
  const pictureName = (size: number) => `quality-${size}.png`;
  const warmed = new Set<Method>();
  for (const size of o.sizes) {
    const px = size * size * 3;
    const acc = o.methods.map(() => ({ psnr: 0, ssim: 0, gmsd: 0, seconds: 0, layers: 0, hasLayers: false, contributions: [] as number[], soft: [] as number[], render: [] as number[] }));
    const keep = o.methods.map(() => [] as Float32Array[]);
    const picture: (Tile | null)[][] = shown.map((i) => [{ pixels: toFloat(image(size, i).rgb), width: size, height: size }]);
    // one method over all the images, then the next: each is timed in its own steady state, as a
    // person decomposing photo after photo runs it (interleaved per image, the quantiser's hundreds
    // of MB of garbage were collected during the next method's run: on this 2-core machine the
    // collector's threads then slowed the model's two-threaded forward pass by up to 2×)
    for (let m = 0; m < o.methods.length; m++) {
      const method = o.methods[m]!;
      method.prepare?.(size, rows);
      for (let i = 0; i < n; i++) {
        const img = image(size, i);
        const target = toFloat(img.rgb);
        if (!warmed.has(method)) {
          // untimed runs first (JIT, kernel set-up), on copies nothing caches: WARM_UP of them, on
          // different images, since one run leaves the JIT's optimising tier still compiling
          // (the model's first images with shape swaps took up to 100 ms, then 10–20)
          for (let w = 0; w < Math.min(WARM_UP, n); w++) await method.run({ ...image(size, w), index: -1 });
          warmed.add(method);
        }
        const r = await method.run(img);
        if (r.render.length !== px) throw new Error(`${method.name}: render has ${r.render.length} values at ${size}², expected ${px}`);
        const a = acc[m]!;
        a.psnr += psnrOf(r.render, target);
        a.ssim += ssim(r.render, target, size, size);
        a.gmsd += gmsd(r.render, target, size, size);
        if (r.soft !== undefined) a.soft.push(r.soft);
        if (r.renderSeconds !== undefined) a.render.push(r.renderSeconds);
        a.seconds += r.seconds;
        if (r.layers !== undefined) {
          a.layers += r.layers;
          a.hasLayers = true;
        }
        if (r.contributions) a.contributions.push(...r.contributions);
        if (renders) keep[m]!.push(r.render);
        const row = shown.indexOf(i);
        if (row >= 0) picture[row]!.push({ pixels: r.render, width: size, height: size });
        o.onProgress?.(++done, total, `${size}² ${method.short}`);
      }
      {
        const a = acc[m]!;
        rows.push({
          size,
          method: method.name,
          images: n,
          layers: a.hasLayers ? a.layers / n : '',
          psnr: a.psnr / n,
          ssim: a.ssim / n,
          secondsPerImage: a.seconds / n,
          nearUseless: a.contributions.length ? nearUselessShare(a.contributions) : undefined,
          gmsd: a.gmsd / n,
          soft: a.soft.length ? a.soft.reduce((x, y) => x + y, 0) / a.soft.length : undefined,
          renderSecondsPerImage: a.render.length ? a.render.reduce((x, y) => x + y, 0) / a.render.length : undefined,
        });
      }
    }
    renders?.set(size, keep);
    // each finished size is written at once, so a long run killed later keeps what it measured
    if (o.out) await writeResults(size, picture);
  }
  return { rows, renders, markdown: qualityMarkdown(rows, o.methods, o.out ? pictureName : undefined, o.title), files: [...files] };

  async function writeResults(size: number, picture: (Tile | null)[][]): Promise<void> {
    const out = o.out!;
    mkdirSync(out, { recursive: true });
    const png = join(out, pictureName(size));
    await writeGrid(png, picture, { scale: Math.max(1, Math.round(128 / size)), columnLabels: ['input', ...o.methods.map((m) => m.short)] });
    const md = join(out, 'quality.md');
    writeFileAtomic(md, [new TextEncoder().encode(qualityMarkdown(rows, o.methods, pictureName, o.title))]);
    const json = join(out, 'quality.json');
    writeFileAtomic(json, [new TextEncoder().encode(JSON.stringify({ images: n, sizes: o.sizes, shown, methods: o.methods.map((m) => ({ name: m.name, short: m.short, note: m.note })), rows }, null, 1))]);
    for (const f of [png, md, json]) files.add(f);
  }
}

const pct = (x: number | undefined) => (x === undefined ? '' : `${(100 * x).toFixed(0)} %`);

/** the results as Markdown: one table per size, then the methods' notes */
export function qualityMarkdown(rows: QualityRow[], methods: Method[], picture?: (size: number) => string, title?: string): string {
  const out: string[] = [];
  if (title) out.push(title, '');
  const sizes = [...new Set(rows.map((r) => r.size))];
  for (const size of sizes) {
    const rs = rows.filter((r) => r.size === size);
    out.push(`### ${size}² (${rs[0]!.images} images)`, '');
    out.push(`| method | layers / shapes | PSNR (dB) | SSIM | GMSD | ms per image | exact render ms | layers < ${NEAR_USELESS_DB} dB | soft share |`, '|---|---|---|---|---|---|---|---|---|');
    for (const r of rs) {
      const layers = r.layers === '' ? '' : Number.isInteger(r.layers) ? `${r.layers}` : r.layers.toFixed(1);
      const render = r.renderSecondsPerImage === undefined ? '' : (1000 * r.renderSecondsPerImage).toFixed(0);
      out.push(`| ${r.method} | ${layers} | ${r.psnr.toFixed(2)} | ${r.ssim.toFixed(3)} | ${r.gmsd.toFixed(3)} | ${(1000 * r.secondsPerImage).toFixed(1)} | ${render} | ${pct(r.nearUseless)} | ${pct(r.soft)} |`);
    }
    out.push('');
    if (picture) out.push(`![inputs and each method's render at ${size}², one column per row of the table](${picture(size)})`, '');
  }
  const notes = methods.filter((m) => m.note);
  if (notes.length) {
    out.push(...notes.map((m) => `- ${m.name}: ${m.note}`), '');
  }
  return out.join('\n');
}
