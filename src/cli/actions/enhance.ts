/** stratum enhance / train-enhancer: what the commands do (flags and help: src/cli/commands/enhance.ts, which imports this file only when a command runs) */
import { Command, type OptionValues } from 'commander';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../io/atomicFile.js';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { useBackend, type BackendName } from '../../backend/index.js';
import { renderDocument, renderSize } from '../../core/document.js';
import { psnrOf } from '../../core/psnr.js';
import { readImageFrame, writePng } from '../../data/images.js';
import { writeGrid } from '../../eval/grid.js';
import { loadDocument } from '../../export/documentFile.js';
import { checkOutputFolder, checkOutputs } from '../../io/paths.js';
import { loadModel } from '../../model/checkpoint.js';
import { loadDataset } from '../../research/data/datasets.js';
import { enhanceFigure } from '../../research/experiments/enhance.js';
import { ENHANCER_FILE, ENHANCER_WEIGHTS_FILE, loadEnhancer, type Pairs, renderPairs, saveEnhancerWeights, scoreEnhancer, trainEnhancer } from '../../research/train/enhanceTrainer.js';
import { MAX_INPUT_SIDE } from '../../config.js';
import { checkRender } from '../limits.js';
import { outputOf } from '../options.js';
import { say, shown } from '../say.js';

/** the enhancer's working memory per output pixel: its widest level's activations, kept for the skip connections (bytes, generous) */
const ENHANCE_BYTES_PER_PIXEL = 4 * 32 * 6;

export async function runEnhance(docPath: string, o: OptionValues, c: Command): Promise<void> {
  const given = c.opts().output !== undefined || c.opts().out !== undefined;
  if (!existsSync(o.net)) throw new Error(`${o.net}: no such enhancer (train one with stratum train-enhancer, or pass --net)`);
  const doc = loadDocument(docPath);
  const [w, h] = renderSize(doc, o.size);
  const out = given ? outputOf(c) : docPath.replace(/(\.stratum)?\.json$/, '') + `.enhanced.${w}x${h}.png`;
  checkOutputs([out, o.compare], [docPath, o.net, o.photo]);
  checkRender(doc, w, h, 'enhance', false, w * h * 3 * 4 * 3);
  await useBackend(o.backend as BackendName);
  const { net } = loadEnhancer(o.net);
  const m = 2 ** net.cfg.depth;
  if (Math.min(w, h) < m) throw new Error(`--size ${o.size}: the render would be ${w}×${h}, smaller than the enhancer's ${m} pixels`);
  // the photo first: a bad --photo fails before the render
  const photo = o.photo ? await photoAt(o.photo, w, h) : null;
  const r = renderDocument(doc, w, h).rgb;
  const band = Math.max(m, Math.floor((1 << 28) / ENHANCE_BYTES_PER_PIXEL / w));
  const e = net.enhanceImage(r, w, h, band);
  await writePng(out, w, h, e);
  if (o.compare) await writeGrid(o.compare, [[{ pixels: r, width: w, height: h }, { pixels: e, width: w, height: h }]], { scale: 1, gap: 4, columnLabels: ['render', 'enhanced'] });
  const vs = photo ? `; against ${shown(o.photo)}: render ${psnrOf(r, photo, 1, 1, 1 / 255).toFixed(2)} dB, enhanced ${psnrOf(e, photo, 1, 1, 1 / 255).toFixed(2)} dB` : '';
  say(`wrote ${shown(out)} (${w}×${h}, enhanced by ${shown(o.net)})${vs}`);
}

/** the photo resized to w×h (uint8 RGB) */
async function photoAt(path: string, w: number, h: number): Promise<Uint8Array> {
  const f = await readImageFrame(path, MAX_INPUT_SIDE);
  const buf = await sharp(Buffer.from(f.rgb), { raw: { width: f.width, height: f.height, channels: 3 } }).resize(w, h, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** the renders of a pair set from `path` when it was made for the same key and photos, else made and written there */
function cachedPairs(path: string, key: Record<string, unknown>, make: () => Pairs, photos: Pairs['photos']): Pairs {
  const head = new TextEncoder().encode(JSON.stringify(key) + '\n');
  if (existsSync(path)) {
    const bytes = new Uint8Array(readFileSync(path));
    const same = bytes.length === head.length + photos.data.length && head.every((b, i) => bytes[i] === b);
    if (same) return { renders: { ...photos, data: bytes.slice(head.length) }, photos };
  }
  const pairs = make();
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, [head, pairs.renders.data]);
  return pairs;
}

export async function runTrainEnhancer(o: OptionValues, c: Command): Promise<void> {
  const out = outputOf(c);
  checkOutputFolder(out);
  if (2 ** Math.round(Math.log2(o.size)) !== o.size) throw new Error(`--size ${o.size}: must be a power of two ≥ 16 (the patch critic halves it)`);
  if (o.size % 2 ** o.depth !== 0) throw new Error(`--depth ${o.depth}: --size ${o.size} must be a multiple of 2^depth`);
  if (o.width * 2 ** o.depth > 4096) throw new Error(`--width ${o.width} --depth ${o.depth}: the deepest level would have ${o.width * 2 ** o.depth} channels (at most 4096)`);
  if (!o.resume && existsSync(join(out, ENHANCER_FILE))) throw new Error(`${join(out, ENHANCER_FILE)} exists: pass --resume to continue it or choose another -o/--output folder`);
  await useBackend(o.backend as BackendName);
  const { model } = loadModel(o.model);
  const train = await loadDataset(o.data, { size: o.size, limit: o.limit, seed: o.seed });
  const test = await loadDataset(o.test, { size: o.size, seed: o.seed });
  say(`enhancer pairs: ${train.n} training and ${test.n} held-out ${o.size}² crops, rendered from ${shown(o.model)}'s decompositions`);
  // the pairs are kept in the run folder (minutes to make): a resumed run, or a new one on the same data and model, reads them
  const key = { model: createHash('sha256').update(readFileSync(o.model)).digest('hex'), data: o.data, test: o.test, size: o.size, limit: o.limit ?? null, seed: o.seed };
  const trainPairs = cachedPairs(join(out, 'pairs-train.bin'), key, () => renderPairs(model, train, 'pairs (train) '), train);
  const testPairs = cachedPairs(join(out, 'pairs-test.bin'), key, () => renderPairs(model, test, 'pairs (held out) '), test);
  const net = await trainEnhancer(
    { out, data: o.data, net: { kind: 'unet', width: o.width, depth: o.depth }, size: o.size, steps: o.steps, batch: o.batch, lr: o.lr, lambda: o.lambda, criticWidth: o.criticWidth, saveEvery: o.saveEvery, evalEvery: o.evalEvery, seed: o.seed, resume: o.resume },
    trainPairs,
    testPairs,
  );
  const s = scoreEnhancer(net, testPairs);
  const figure = await enhanceFigure(net, testPairs, join(out, 'enhance.png'));
  saveEnhancerWeights(join(out, ENHANCER_WEIGHTS_FILE), net, o.steps, o.data, { size: o.size, lambda: o.lambda, test: o.test, heldOut: s });
  writeFileAtomic(join(out, 'enhance.json'), [new TextEncoder().encode(JSON.stringify({ steps: o.steps, lambda: o.lambda, size: o.size, data: o.data, test: o.test, model: o.model, ...s }, null, 2) + '\n')]);
  const side = (x: typeof s.render) => `${x.psnr.toFixed(2)} dB (median ${x.medianPsnr.toFixed(2)}) / SSIM ${x.ssim.toFixed(3)} / sharpness ${x.sharpness.toFixed(1)}`;
  say(
    `held out (${s.n} pairs at ${o.size}²): render ${side(s.render)}; enhanced ${side(s.enhanced)}; the photos' sharpness ${s.photoSharpness.toFixed(1)}; the enhanced render is closer on ${s.better} of ${s.n}`,
    `wrote ${shown(join(out, ENHANCER_FILE))}, ${shown(join(out, ENHANCER_WEIGHTS_FILE))} (the enhancer alone, to ship) and ${shown(figure)}`,
  );
}
