/**
 * Stratum's browser editor: load the bundled model, drop an image, watch it being decomposed step
 * by step (for the model's T layers or more), then edit the layers (visibility, colour, order,
 * deletion, mask parameters) with instant re-render, re-run the model after an edited layer, refine
 * the layers against the image (the library's refinement, run a slice of steps per frame, with
 * progress and a stop; optionally adding greedy layers first and pruning weak ones after), zoom at
 * true resolution and export. All compute runs in the page with tfjs (WebGL, or the CPU backend
 * where WebGL is missing); the fused kernels of Node's native backend are never bundled.
 */
import { blendLayerInto, compositeLayers } from '../src/core/blend.js';
import { DOCUMENT_FORMAT, DOCUMENT_VERSION, makeDocument, type DocLayer, type LayeredDocument } from '../src/core/document.js';
import { layerStep } from '../src/core/layerLoop.js';
import { adaptiveStride, renderLayers } from '../src/core/render.js';
import { contributionsFromMasks } from '../src/eval/contribution.js';
import * as tf from '../src/core/tf.js';
import { colourHex, moveLayer, parseColour, recolour, removeLayers, setParams, setVisible } from '../src/edit/edits.js';
import { modelFromCheckpoint, parseCheckpoint } from '../src/model/checkpointFormat.js';
import { maxEncoderSteps } from '../src/model/decomposeImage.js';
import type { Decomposer } from '../src/model/decomposer.js';
import { newCtx } from '../src/model/nn.js';
import { layerWeights, leastSquaresColours, runStepsAsync, type RefineProgress } from '../src/model/refine.js';
import { refineDecompositionSteps } from '../src/model/refineDocument.js';

const params = new URLSearchParams(location.search);
const MODEL_URL = params.get('model') ?? '../models/default.stratum';
/** bundled samples: a held-out colour photo for the photo model, and Fashion-MNIST test images */
const SAMPLES = ['sunset.jpg', 'ankle-boot.png', 'bag.png', 'sneaker.png', 'trouser.png', 'tshirt.png'];
const ZOOMS = [64, 128, 256, 512, 1024];
const TILE = 64;
const ADAPTIVE_TILE = 256;
/** refinement fit sizes offered (plus the image's own side when it is smaller than the largest) */
const FIT_SIZES = [64, 128, 256];

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const view = $<HTMLCanvasElement>('view');

interface State {
  model: Decomposer | null;
  /** the loaded image, kept to take the refinement's target at any fit size */
  image: HTMLImageElement | null;
  /** the image at the model's size */
  target: Float32Array | null;
  layers: DocLayer[];
  /** how the layers were made: the document's source (model, image, refinement) */
  source: Record<string, unknown>;
  /** the layers and source before the last refinement, while no edit has followed it */
  beforeRefine: { layers: DocLayer[]; source: Record<string, unknown> } | null;
  selected: number;
  viewSize: number;
  busy: boolean;
}
const state: State = { model: null, image: null, target: null, layers: [], source: { editor: 'stratum web' }, beforeRefine: null, selected: -1, viewSize: Number(params.get('size') ?? 256), busy: false };
const maskCache = new Map<string, Float32Array>();

function setStatus(status: string, text: string): void {
  document.body.dataset.status = status;
  $('status').textContent = text;
}

function S(): number {
  return state.model!.cfg.size;
}

/**
 * The number in field `id`, checked before any work starts: at least `min`, at most `max`, whole
 * when `whole`; a blank field gives `blank` where one is allowed. Anything else throws a one-line
 * message for the status bar. (Text the browser cannot read as a number leaves the value blank:
 * validity.badInput tells it from a field left empty.)
 */
function numberField(id: string, what: string, o: { min: number; max?: number; whole?: boolean; blank?: number; note?: string }): number {
  const input = $<HTMLInputElement>(id);
  const text = input.value.trim();
  if (text === '' && !input.validity.badInput && o.blank !== undefined) return o.blank;
  const v = Number(text);
  if (text === '' || !Number.isFinite(v) || (o.whole && !Number.isInteger(v)) || v < o.min || (o.max !== undefined && v > o.max)) {
    const range = o.max === undefined ? `≥ ${o.min}` : `from ${o.min} to ${o.max}`;
    const got = input.validity.badInput ? ', and what is typed there is not a number' : text === '' ? '' : `, not ${text}`;
    throw new Error(`${what} must be ${o.whole ? 'a whole number' : 'a number'} ${range}${o.note ? ` (${o.note})` : ''}${got}`);
  }
  return v;
}

/** what `read` returns, or undefined after showing in the status bar why a field is not acceptable */
function checked<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    setStatus('error', (e as Error).message);
    return undefined;
  }
}

/** the layers field: how many steps to run the encoder for, capped as `stratum decompose --layers` is */
function requestedLayers(): number {
  const T = state.model!.cfg.T;
  return numberField('decompose-layers', 'layers', { min: 1, max: maxEncoderSteps(T), whole: true, note: `the model's T is ${T}` });
}

/** a layer's mask at `size`², computed once per (p, size) */
function maskAt(layer: DocLayer, size: number): Float32Array {
  const key = `${size}|${layer.p.join(',')}`;
  let m = maskCache.get(key);
  if (!m) {
    const opt = { width: size, height: size, referenceSize: S(), keepMasks: true };
    // zoomed in, masks are evaluated coarse to fine (the MLP only along edges): bigger tiles mean
    // fewer, fuller batches; the dense fallback keeps small tiles for WebGL memory
    const r = renderLayers(state.model!.store, state.model!.cfg.mask, [layer], { ...opt, tile: adaptiveStride(opt) ? ADAPTIVE_TILE : TILE });
    m = r.masks![0]!;
    if (maskCache.size > 400) maskCache.clear();
    maskCache.set(key, m);
  }
  return m;
}

function composite(size: number, upTo = state.layers.length): Float32Array {
  return compositeLayers(size * size, state.layers.slice(0, upTo), (l) => maskAt(l, size));
}

function putRgb(canvas: HTMLCanvasElement, rgb: Float32Array, size: number): void {
  canvas.width = size;
  canvas.height = size;
  const img = new ImageData(size, size);
  for (let p = 0; p < size * size; p++) {
    for (let c = 0; c < 3; c++) img.data[4 * p + c] = Math.round(Math.min(1, Math.max(0, rgb[3 * p + c]!)) * 255);
    img.data[4 * p + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(img, 0, 0);
}

function draw(): void {
  if (!state.model) return;
  putRgb(view, composite(state.viewSize), state.viewSize);
  $('zoom-label').textContent = `${state.viewSize}²`;
}

function document_(): LayeredDocument {
  return makeDocument(state.model!.cfg.mask, S(), state.model!.store, state.layers, state.source);
}

/** the layers as a document without weights: what src/edit's functions read and return */
function layersDoc(): LayeredDocument {
  return { format: DOCUMENT_FORMAT, version: DOCUMENT_VERSION, mask: state.model!.cfg.mask, referenceSize: S(), weights: {}, layers: state.layers };
}

/** apply one of src/edit's edits to the layers */
function editLayers(f: (doc: LayeredDocument) => LayeredDocument): void {
  state.layers = f(layersDoc()).layers;
  edited();
}

/** the layers changed by hand: a refinement can no longer be undone, and its record says so */
function edited(): void {
  state.beforeRefine = null;
  if (state.source.refinement && !state.source.editedAfterRefinement) state.source = { ...state.source, editedAfterRefinement: true };
  $<HTMLButtonElement>('refine-undo').disabled = true;
}

// ------------------------------------------------------------------ decomposition
/** the layers from `fromStep` on, up to `N`: the encoder runs past its T steps as decompose --layers does */
async function runModel(fromStep: number, N: number): Promise<void> {
  const model = state.model!;
  const size = S();
  state.busy = true;
  refineControls();
  setStatus('decomposing', `decomposing… step ${fromStep + 1}/${N}`);
  state.layers = state.layers.slice(0, fromStep);
  if (fromStep > 0) edited();
  state.source = { ...state.source, encoderSteps: N };
  const target = tf.tensor4d(state.target!, [1, size, size, 3]);
  // the target's part of the encoder's first convolution is the same at every step
  const targetStem = tf.tidy(() => model.targetStem(target));
  const predict = model.predictor(targetStem, newCtx(false));
  // from the layers kept (edits included), one step of the layer loop per frame
  let canvas = tf.tensor4d(composite(size), [1, size, size, 3]);
  for (let t = fromStep; t < N; t++) {
    const next = tf.tidy(() => {
      const s = layerStep(canvas, t, predict, (p) => model.masks(p));
      return { p: Array.from(s.p.dataSync()), c: Array.from(s.c.dataSync()) as [number, number, number], canvas: s.canvas };
    });
    state.layers.push({ name: `layer ${t + 1}`, p: next.p, colour: next.c, visible: true });
    canvas.dispose();
    canvas = next.canvas;
    setStatus('decomposing', `decomposing… step ${t + 1}/${N}`);
    drawSteps();
    await tf.nextFrame();
  }
  canvas.dispose();
  target.dispose();
  tf.dispose([targetStem.stem, targetStem.canvasWeight]);
  if (fromStep === 0 && state.layers.length > 0) {
    // as decompose does: the best colours for the encoder's masks (least squares in [0, 1]), so the
    // editor's layers are the CLI's (a re-run after an edit keeps the edited layers' colours)
    const masks = state.layers.map((l) => maskAt(l, size));
    const colours = leastSquaresColours(layerWeights(masks), state.target!, state.layers.map((l) => l.colour));
    state.layers = state.layers.map((l, t) => ({ ...l, colour: colours[t]! }));
    state.source = { ...state.source, colours: 'least-squares' };
  }
  state.busy = false;
  if (state.selected >= state.layers.length) state.selected = state.layers.length - 1;
  buildLayerList();
  draw();
  setStatus('done', `${state.layers.length} layers — edit them on the right`);
  refineControls();
}

// ------------------------------------------------------------------ refinement
let stopRequested = false;
/** the training data named in the model's checkpoint, for the document's record */
let trainedOn: string | undefined;

/** the loaded image as RGB floats at size², centre-cropped to a square (as the CLI reads it) */
function imageSquare(img: HTMLImageElement, size: number): Float32Array {
  const c = document.createElement('canvas');
  c.width = size;
  c.height = size;
  const g = c.getContext('2d', { willReadFrequently: true })!;
  const side = Math.min(img.naturalWidth, img.naturalHeight);
  g.imageSmoothingQuality = 'high';
  g.drawImage(img, (img.naturalWidth - side) / 2, (img.naturalHeight - side) / 2, side, side, 0, 0, size, size);
  const px = g.getImageData(0, 0, size, size).data;
  const rgb = new Float32Array(size * size * 3);
  for (let p = 0; p < size * size; p++) for (let k = 0; k < 3; k++) rgb[3 * p + k] = px[4 * p + k]! / 255;
  return rgb;
}

/** fit sizes for the loaded image: 64, 128, 256 and its own side if smaller; 128 or its side by default */
function fitSizeOptions(): void {
  const select = $<HTMLSelectElement>('refine-fit');
  select.replaceChildren();
  if (!state.image) return;
  const side = Math.min(state.image.naturalWidth, state.image.naturalHeight);
  const sizes = [...new Set([...FIT_SIZES, ...(side < FIT_SIZES.at(-1)! ? [side] : [])])].sort((a, b) => a - b);
  const preferred = Math.min(128, side);
  for (const f of sizes) {
    const o = document.createElement('option');
    o.value = String(f);
    o.textContent = `${f}²${f > side ? ' (upsampled)' : ''}`;
    o.selected = f === preferred;
    select.append(o);
  }
}

function refineControls(running = false): void {
  $<HTMLButtonElement>('refine').disabled = running || state.busy || !state.image || state.layers.length === 0;
  $<HTMLButtonElement>('refine-stop').hidden = !running;
  $<HTMLButtonElement>('refine-stop').disabled = !running;
  $<HTMLButtonElement>('refine-undo').disabled = running || !state.beforeRefine;
}

function showProgress(s: RefineProgress, budgetMs: number): void {
  const bar = $<HTMLProgressElement>('refine-progress');
  bar.max = budgetMs;
  bar.value = Math.min(budgetMs, s.elapsedMs);
  const info = $('refine-info');
  info.dataset.step = String(s.step);
  info.textContent = `step ${s.step} · ${(s.elapsedMs / 1000).toFixed(1)} s · ${s.psnr.toFixed(2)} dB (on this step's pixels)`;
}

/**
 * Refine the current layers against the loaded image at the chosen fit size: the library's
 * refinement (src/model/refineDocument.ts, the same as `stratum decompose --refine`), a slice of
 * steps per frame so the page stays responsive; Stop ends it at the next step and keeps the
 * better of start and end (refinement never lowers PSNR). As with decompose --greedy and --prune,
 * layers can be added greedily before the optimisation and the weakest removed after it. The
 * document's source.refinement records the run as the CLI records it.
 */
async function refine(): Promise<void> {
  if (!state.model || !state.image || state.busy || state.layers.length === 0) return;
  const fit = Number($<HTMLSelectElement>('refine-fit').value);
  const budgetMs = Math.round(Number($<HTMLInputElement>('refine-budget').value) * 1000);
  if (!(budgetMs > 0)) {
    setStatus('error', 'give the refinement a time budget above 0 s');
    return;
  }
  const cap = maxEncoderSteps(state.model.cfg.T);
  const more = checked(() => ({
    addLayers: numberField('refine-greedy', 'add greedy layers', { min: 0, max: Math.max(0, cap - state.layers.length), whole: true, blank: 0, note: `at most ${cap} layers in all` }),
    // 0 dB would prune only layers that lower the PSNR: the field offers 0 as "off", like blank
    prune: numberField('refine-prune', 'prune below (dB)', { min: 0, blank: 0 }) || undefined,
  }));
  if (!more) return;
  state.busy = true;
  stopRequested = false;
  refineControls(true);
  const info = $('refine-info');
  info.dataset.step = '0';
  delete info.dataset.psnrBefore;
  delete info.dataset.psnrAfter;
  info.textContent = `evaluating the layers at ${fit}²${more.addLayers ? ` and adding ${more.addLayers} greedy layers` : ''}…`;
  $<HTMLProgressElement>('refine-progress').value = 0;
  setStatus('refining', `refining at ${fit}² for up to ${budgetMs / 1000} s…`);
  const frame = () => new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 50);
    requestAnimationFrame(() => {
      clearTimeout(t);
      resolve();
    });
  });
  await frame();
  const before = { layers: state.layers, source: state.source };
  try {
    const target = { rgb: imageSquare(state.image, fit), size: fit };
    const steps = refineDecompositionSteps(document_(), target, { ...more, budgetMs, minSteps: 1, layersPerPause: 1, shouldStop: () => stopRequested, onStep: (s) => showProgress(s, budgetMs) });
    const r = await runStepsAsync(steps, frame);
    state.layers = r.doc.layers;
    state.source = r.doc.source ?? {};
    if (state.selected >= state.layers.length) state.selected = state.layers.length - 1;
    // the refinement's masks of these layers at the fit size: the redraw need not compute them again
    if (r.refine && r.pruned.length === 0 && r.added === 0) r.doc.layers.forEach((l, t) => maskCache.set(`${fit}|${l.p.join(',')}`, r.refine!.masks[t]!));
    state.beforeRefine = before;
    const rec = r.doc.source!.refinement as { steps: number; seconds: number; psnrBefore: number; psnrAfter: number; greedyAdded: number; prunedBelowDb?: number; pruned: number };
    info.dataset.step = String(rec.steps);
    info.dataset.psnrBefore = String(rec.psnrBefore);
    info.dataset.psnrAfter = String(rec.psnrAfter);
    // greedy may add fewer layers than asked (none that lowers the residual): the record says how many
    const layerChanges = [more.addLayers ? `${rec.greedyAdded} greedy layers added` : '', rec.prunedBelowDb !== undefined ? `${rec.pruned} pruned below ${rec.prunedBelowDb} dB` : '']
      .filter(Boolean)
      .map((c) => ` · ${c}`)
      .join('');
    info.textContent = `${rec.steps} steps in ${rec.seconds.toFixed(1)} s${stopRequested ? ' (stopped)' : ''} · at ${fit}²: ${rec.psnrBefore.toFixed(2)} → ${rec.psnrAfter.toFixed(2)} dB${layerChanges}`;
    $<HTMLProgressElement>('refine-progress').value = $<HTMLProgressElement>('refine-progress').max;
    setStatus('refined', `refined: ${rec.psnrBefore.toFixed(2)} → ${rec.psnrAfter.toFixed(2)} dB at ${fit}²${layerChanges}`);
  } catch (e) {
    setStatus('error', `refinement failed (${(e as Error).message})`);
  } finally {
    state.busy = false;
    refineControls();
    drawSteps();
    buildLayerList();
    draw();
  }
}

/** back to the layers (and record) from before the last refinement */
function undoRefine(): void {
  if (!state.beforeRefine || state.busy) return;
  state.layers = state.beforeRefine.layers;
  state.source = state.beforeRefine.source;
  state.beforeRefine = null;
  if (state.selected >= state.layers.length) state.selected = state.layers.length - 1;
  refineControls();
  drawSteps();
  buildLayerList();
  draw();
  setStatus('done', 'refinement undone');
}

function drawSteps(): void {
  const box = $('steps');
  box.replaceChildren();
  const size = S();
  for (let t = 1; t <= state.layers.length; t++) {
    const c = document.createElement('canvas');
    putRgb(c, composite(size, t), size);
    c.title = `after step ${t}`;
    box.append(c);
  }
}

// ------------------------------------------------------------------ layer panel
/**
 * What each layer is worth: the PSNR (against the image, at the model's size) lost when that layer
 * alone is hidden — as `stratum decompose` prints it (src/eval/contribution.ts). 0 for hidden layers.
 */
function contributions(): number[] {
  const size = S();
  if (!state.target || state.target.length !== size * size * 3) return state.layers.map(() => NaN);
  return contributionsFromMasks(state.layers.map((l) => maskAt(l, size)), state.layers, state.target).contributions;
}

function buildLayerList(): void {
  const list = $('layers');
  list.replaceChildren();
  const worth = contributions();
  state.layers.forEach((l, i) => {
    const li = document.createElement('li');
    li.dataset.index = String(i);
    if (i === state.selected) li.classList.add('selected');
    const vis = document.createElement('input');
    vis.type = 'checkbox';
    vis.checked = l.visible !== false;
    vis.className = 'visible';
    vis.title = 'visible';
    vis.onchange = () => edit(() => editLayers((d) => setVisible(d, i, vis.checked)));
    const sw = document.createElement('canvas');
    const S2 = S();
    const m = maskAt(l, S2);
    const rgb = new Float32Array(S2 * S2 * 3).fill(0.85);
    blendLayerInto(rgb, m, l.colour);
    putRgb(sw, rgb, S2);
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = l.name ?? `layer ${i + 1}`;
    name.onclick = () => select(i);
    const db = document.createElement('span');
    db.className = 'contribution';
    db.title = 'PSNR lost when this layer alone is hidden';
    db.textContent = Number.isFinite(worth[i]!) ? `${worth[i]!.toFixed(1)} dB` : '';
    const tools = document.createElement('span');
    tools.className = 'tools';
    const colour = document.createElement('input');
    colour.type = 'color';
    colour.className = 'colour';
    colour.value = colourHex(l.colour);
    colour.oninput = () => {
      editLayers((d) => recolour(d, i, parseColour(colour.value)));
      draw();
    };
    colour.onchange = () => buildLayerList();
    const up = button('▲', 'move up', () => move(i, i + 1), i === state.layers.length - 1);
    const down = button('▼', 'move down', () => move(i, i - 1), i === 0);
    const del = button('✕', 'delete layer', () => edit(() => editLayers((d) => removeLayers(d, [i]))));
    del.className = 'delete';
    tools.append(colour, up, down, del);
    li.append(vis, sw, name, db, tools);
    list.append(li);
  });
  buildSliders();
}

function button(text: string, title: string, onclick: () => void, disabled = false): HTMLButtonElement {
  const b = document.createElement('button');
  b.textContent = text;
  b.title = title;
  b.disabled = disabled;
  b.onclick = onclick;
  return b;
}

function edit(f: () => void): void {
  f();
  if (state.selected >= state.layers.length) state.selected = state.layers.length - 1;
  buildLayerList();
  draw();
}

function move(from: number, to: number): void {
  if (to < 0 || to >= state.layers.length) return;
  edit(() => {
    editLayers((d) => moveLayer(d, from, to));
    if (state.selected === from) state.selected = to;
  });
}

function select(i: number): void {
  state.selected = i;
  buildLayerList();
}

function buildSliders(): void {
  const box = $('sliders');
  box.replaceChildren();
  const l = state.layers[state.selected];
  $('sel-name').textContent = l ? (l.name ?? `layer ${state.selected + 1}`) : '—';
  // a re-run after the layer the layers field ends at would only drop the layers above it
  $<HTMLButtonElement>('rerun').disabled = !l || state.selected + 1 >= Number($<HTMLInputElement>('decompose-layers').value);
  if (!l) return;
  l.p.forEach((v, k) => {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'range';
    input.min = String(Math.min(-5, Math.floor(v)));
    input.max = String(Math.max(5, Math.ceil(v)));
    input.step = '0.01';
    input.value = String(v);
    input.className = `p${k}`;
    const out = document.createElement('output');
    out.textContent = v.toFixed(2);
    input.oninput = () => {
      const p = state.layers[state.selected]!.p.slice();
      p[k] = Number(input.value);
      out.textContent = p[k]!.toFixed(2);
      editLayers((d) => setParams(d, state.selected, p));
      draw();
    };
    input.onchange = () => buildLayerList();
    label.append(`p${k + 1}`, input, out);
    box.append(label);
  });
}

// ------------------------------------------------------------------ input, zoom, export
async function loadImage(src: string | Blob): Promise<void> {
  if (!state.model || state.busy) return;
  const N = checked(requestedLayers);
  if (N === undefined) return;
  const url = typeof src === 'string' ? src : URL.createObjectURL(src);
  const img = new Image();
  img.src = url;
  try {
    await img.decode();
  } catch {
    setStatus('error', 'cannot read that image');
    return;
  }
  const size = S();
  state.image = img;
  state.target = imageSquare(img, size);
  putRgb($<HTMLCanvasElement>('target'), state.target, size);
  const m = state.model.cfg;
  // as `stratum decompose` records it (src/model/decomposeImage.ts); runModel adds encoderSteps
  state.source = {
    editor: 'stratum web',
    image: typeof src === 'string' ? src.split('/').pop() : src instanceof File ? src.name : 'image',
    checkpoint: MODEL_URL.split('/').pop(),
    trainedOn,
    model: { encoder: m.encoder, T: m.T, K: m.mask.K, size },
  };
  state.beforeRefine = null;
  state.selected = -1;
  fitSizeOptions();
  $('refine-info').textContent = '';
  await runModel(0, N);
}

function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function wire(): void {
  const drop = $('drop');
  drop.ondragover = (e) => {
    e.preventDefault();
    drop.classList.add('over');
  };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) void loadImage(f);
  };
  const file = $<HTMLInputElement>('file');
  file.onchange = () => {
    const f = file.files?.[0];
    // cleared, so that choosing the same file again (say after a refused layers value) is a change
    file.value = '';
    if (f) void loadImage(f);
  };
  for (const s of SAMPLES) $('samples').append(button(s.replace(/\.\w+$/, ''), `decompose samples/${s}`, () => void loadImage(`../samples/${s}`)));
  $('zoom-in').onclick = () => zoom(+1);
  $('zoom-out').onclick = () => zoom(-1);
  $('rerun').onclick = () => {
    const N = state.selected >= 0 ? checked(requestedLayers) : undefined;
    if (N !== undefined) void runModel(state.selected + 1, N);
  };
  $('decompose-layers').oninput = () => state.model && buildSliders();
  $('refine').onclick = () => void refine();
  $('refine-stop').onclick = () => {
    stopRequested = true;
    $<HTMLButtonElement>('refine-stop').disabled = true;
  };
  $('refine-undo').onclick = undoRefine;
  $('export-png').onclick = () => view.toBlob((b) => b && download(`stratum-${state.viewSize}.png`, b), 'image/png');
  $('export-doc').onclick = () => download('stratum.stratum.json', new Blob([JSON.stringify(document_())], { type: 'application/json' }));
}

function zoom(dir: number): void {
  const i = ZOOMS.indexOf(state.viewSize);
  state.viewSize = ZOOMS[Math.min(ZOOMS.length - 1, Math.max(0, (i < 0 ? 2 : i) + dir))]!;
  draw();
}

async function start(): Promise<void> {
  const wanted = params.get('backend') ?? 'webgl';
  if (!(await tf.setBackend(wanted).catch(() => false))) await tf.setBackend('cpu');
  wire();
  try {
    const res = await fetch(MODEL_URL);
    if (!res.ok) throw new Error(`${MODEL_URL}: HTTP ${res.status}`);
    const ckpt = parseCheckpoint(new Uint8Array(await res.arrayBuffer()), MODEL_URL);
    state.model = modelFromCheckpoint(ckpt, MODEL_URL);
    trainedOn = ckpt.header.data;
  } catch (e) {
    setStatus('error', `cannot load the model (${(e as Error).message})`);
    return;
  }
  const m = state.model.cfg;
  const layersField = $<HTMLInputElement>('decompose-layers');
  layersField.value = String(m.T);
  layersField.max = String(maxEncoderSteps(m.T));
  refineControls();
  setStatus('ready', `model: ${m.encoder} encoder, T=${m.T}, K=${m.mask.K}, ${m.size}² — tfjs ${tf.getBackend()}`);
  draw();
}

// hooks for tests and the console
(window as unknown as { stratum: unknown }).stratum = { state, document: document_, draw, loadImage, refine, backend: () => tf.getBackend() };
void start();
