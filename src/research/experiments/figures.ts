/**
 * Two of the paper's figures that need a trained model but no training:
 *
 *   jitter     (Fig. 16) one layer's mask f(x, y, p + k·q) alone, for random unit directions q in
 *              parameter space and 10 values of k in [−2, 2]: what moving along the latent does to a
 *              shape (its parameters are a smooth, meaningful space, not a lookup table);
 *   vectorize  (Fig. 5c) a 32² model's decomposition rendered at 1024² by the mask network, against
 *              its 32² render upsampled to 1024² bilinearly and bicubically; an edge-sharpness number
 *              for each: the 99th percentile of the luminance gradient |∇L| per pixel (in grey
 *              levels of 255), which a resolution-free edge keeps and an interpolated one divides
 *              by the upsampling factor. A fourth column: the same image with crisp layers.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { frameSize, renderDocument, type LayeredDocument } from '../../core/document.js';
import { mulberry32 } from '../../core/random.js';
import { readImageFrame } from '../../data/images.js';
import { grayTile, writeGrid, type Tile } from '../../eval/grid.js';
import { edgeSharpness } from '../eval/sharpness.js';
import { writeFileAtomic } from '../../io/atomicFile.js';
import type { Decomposer } from '../../model/decomposer.js';
import { decomposeFrame } from '../../model/decomposeFrame.js';

export interface JitterOptions {
  /** the layer to move (default: the one worth most) */
  layer?: number;
  directions: number;
  values: number;
  /** k runs over [−range, range] */
  range: number;
  side: number;
  seed: number;
}

/** Fig. 16: rows = random directions q, columns = k; returns the PNG's path */
export async function jitterFigure(doc: LayeredDocument, out: string, o: JitterOptions): Promise<{ path: string; layer: number; ks: number[]; masks: Float32Array[][] }> {
  const t = o.layer ?? doc.layers.reduce((best, l, i) => ((l.contributionDb ?? 0) > (doc.layers[best]!.contributionDb ?? 0) ? i : best), 0);
  const layer = doc.layers[t];
  if (!layer) throw new Error(`--layer ${t}: the document has ${doc.layers.length} layers`);
  const rng = mulberry32(o.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const ks = Array.from({ length: o.values }, (_, i) => -o.range + (2 * o.range * i) / Math.max(1, o.values - 1));
  const rows: Tile[][] = [];
  const masks: Float32Array[][] = [];
  for (let d = 0; d < o.directions; d++) {
    const q = layer.p.map(() => gauss());
    const n = Math.hypot(...q);
    const layers = ks.map((k) => ({ ...layer, place: undefined, gain: undefined, opacity: undefined, visible: true, p: layer.p.map((v, i) => v + (k * q[i]!) / n) }));
    // the mask alone: every jittered copy rendered as its own one-layer document
    const row = layers.map((l) => renderDocument({ ...doc, frame: undefined, layers: [l] }, o.side, o.side, { keepMasks: true }).masks![0]!);
    masks.push(row);
    rows.push(row.map((m) => grayTile(m, o.side, o.side)));
  }
  const path = join(out, 'jitter.png');
  await writeGrid(path, rows, { scale: 1, gap: 3, columnLabels: ks.map((k) => `k = ${k.toFixed(2)}`) });
  return { path, layer: t, ks, masks };
}

export interface VectorizeRow {
  image: string;
  /** edge sharpness at the big size: the network's render, bilinear and bicubic upsampling of the small render */
  vector: number;
  bilinear: number;
  bicubic: number;
  /** the same image decomposed with crisp layers (src/model/decomposeFrame.ts), rendered by the network */
  crisp: number;
}

/** Fig. 5c for each image: the model's decomposition at its own size, rendered small and big */
export async function vectorizeFigure(model: Decomposer, images: string[], out: string, big = 1024): Promise<{ path: string; rows: VectorizeRow[] }> {
  const S = model.cfg.size;
  const tiles: (Tile | null)[][] = [];
  const rows: VectorizeRow[] = [];
  const show = 384;
  for (const image of images) {
    const frame = await readImageFrame(image, 2048);
    const doc = decomposeFrame(model, frame, { layers: model.cfg.T }).doc;
    const [sw, sh] = frameSize(doc, S);
    const [bw, bh] = frameSize(doc, big);
    const small = renderDocument(doc, sw, sh).rgb;
    const vector = renderDocument(doc, bw, bh).rgb;
    const crisp = renderDocument(decomposeFrame(model, frame, { layers: model.cfg.T, crisp: true }).doc, bw, bh).rgb;
    const up = async (kernel: 'linear' | 'cubic') => {
      const raw = Buffer.from(Uint8Array.from(small, (v) => Math.round(255 * Math.min(1, Math.max(0, v)))));
      const { data } = await sharp(raw, { raw: { width: sw, height: sh, channels: 3 } }).resize(bw, bh, { kernel: kernel === 'linear' ? 'linear' : 'cubic', fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
      return Float32Array.from(data, (v) => v / 255);
    };
    const [bil, bic] = [await up('linear'), await up('cubic')];
    rows.push({ image, vector: edgeSharpness(vector, bw, bh), bilinear: edgeSharpness(bil, bw, bh), bicubic: edgeSharpness(bic, bw, bh), crisp: edgeSharpness(crisp, bw, bh) });
    // shown: the whole frame at `show` and its centre magnified 4× (a quarter of the side)
    const [vw, vh] = frameSize(doc, show);
    const shrink = (a: Float32Array) => resizeTile(a, bw, bh, 0, 0, bw, bh, vw, vh);
    const zoom = (a: Float32Array) => resizeTile(a, bw, bh, Math.round(bw * 0.375), Math.round(bh * 0.375), Math.round(bw / 4), Math.round(bh / 4), vw, vh);
    tiles.push([await shrink(vector), await shrink(bil), await shrink(bic), await shrink(crisp)]);
    tiles.push([await zoom(vector), await zoom(bil), await zoom(bic), await zoom(crisp)]);
  }
  const path = join(out, 'vectorize.png');
  await writeGrid(path, tiles, { scale: 1, gap: 3, columnLabels: [`mask network at ${big}`, `${S} render, bilinear`, `${S} render, bicubic`, `crisp layers at ${big}`] });
  const md = [`| image | edge sharpness at ${big}: mask network | bilinear | bicubic | crisp layers |`, '|---|---|---|---|---|', ...rows.map((r) => `| ${r.image} | ${r.vector.toFixed(1)} | ${r.bilinear.toFixed(1)} | ${r.bicubic.toFixed(1)} | ${r.crisp.toFixed(1)} |`)].join('\n');
  writeFileAtomic(join(out, 'vectorize.md'), [new TextEncoder().encode(`${md}\n`)]);
  return { path, rows };
}

/** a region of a float RGB image resized to w×h (sharp, area-like for shrinking) */
async function resizeTile(a: Float32Array, W: number, H: number, x0: number, y0: number, cw: number, ch: number, w: number, h: number): Promise<Tile> {
  const raw = Buffer.from(Uint8Array.from(a, (v) => Math.round(255 * Math.min(1, Math.max(0, v)))));
  const { data } = await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).extract({ left: x0, top: y0, width: cw, height: ch }).resize(w, h, { fit: 'fill', kernel: cw < w ? 'nearest' : 'lanczos3' }).raw().toBuffer({ resolveWithObject: true });
  return { pixels: Float32Array.from(data, (v) => v / 255), width: w, height: h };
}
