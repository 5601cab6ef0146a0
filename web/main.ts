/**
 * Stratum's browser editor. An image (dropped, chosen or a sample) is read at its own aspect and
 * decomposed by the library's one pipeline (src/pipeline/decompose.ts decomposePipeline, in a
 * worker: web/worker.ts) — the same document `stratum decompose` and decompose() make: the model's
 * whole-frame layers with least-squares colours and shape swaps, and with more layers than the
 * model's T, placed layers. The page then shows it being built layer by layer, and lets you edit
 * the layers (visibility, colour, order, deletion, mask parameters) with instant re-render through
 * the library's renderer at the image's aspect, refine whole-frame layers against the image
 * (web/refinePanel.ts), zoom at true resolution and export. All compute runs in the browser with
 * tfjs (WebGL on a GPU, else WebAssembly, else plain JavaScript: web/backend.ts).
 */
import { EDITOR_DEFAULTS, MAX_INPUT_SIDE, PLACE_DEFAULTS, REFINE_DEFAULTS } from '../src/config.js';
import * as tf from '../src/core/tf.js';
import { modelFromCheckpoint, parseCheckpoint } from '../src/model/checkpointFormat.js';
import type { Frame } from '../src/model/decomposeFrame.js';
import { maxEncoderSteps } from '../src/model/decomposeImage.js';
import { SHAPES_KEY } from '../src/model/decomposer.js';
import { backendChoice, startBackend } from './backend.js';
import { Engine, type Progress } from './engine.js';
import { buildLayerList, hooks, refresh } from './layersPanel.js';
import { fitSizeOptions, refine, refineControls, stopRefine, undoRefine } from './refinePanel.js';
import { currentDocument, state } from './state.js';
import { $, button, checked, nextFrame, numberField, setStatus } from './ui.js';
import { contributionGrid, draw, drawSteps, showInput, viewDims } from './view.js';

const params = new URLSearchParams(location.search);
const MODEL_URL = params.get('model') ?? '../models/default.stratum';
/** a held-out colour photograph for the photo model (first), then Fashion-MNIST test images (28×28 in a 32² frame) */
const PHOTOS = ['sunset.jpg'];
const FASHION = ['ankle-boot.png', 'bag.png', 'sneaker.png', 'trouser.png', 'tshirt.png'];
const ZOOMS = [64, 128, 256, 512, 1024];
state.viewSize = Number(params.get('size') ?? 256);
/** the training data named in the model's checkpoint, for the document's record */
let trainedOn: string | undefined;

/** whether the model has a shape bank: with one, layers above T are placed (else its encoder keeps painting) */
const hasBank = () => state.model!.store.has(SHAPES_KEY);

/** the layers field, capped as the pipeline caps --layers */
function requestedLayers(): number {
  const T = state.model!.cfg.T;
  const max = hasBank() ? PLACE_DEFAULTS.maxLayers : maxEncoderSteps(T);
  return numberField('decompose-layers', 'layers', { min: 1, max, whole: true, note: hasBank() ? `the network paints ${T}, the rest are placed` : `the model's T is ${T}` });
}

/** the time for placed layers, in ms (0: a fixed effort per layer, the same result every time) */
function requestedBudget(): number {
  return Math.round(1000 * numberField('decompose-budget', 'time for placed layers (s)', { min: 0, max: 600, blank: 0, note: '0: a fixed effort per layer' }));
}

// ------------------------------------------------------------------ decomposition
function progressText(p: Progress): [string, number | null] {
  if (p.stage === 'shapes') return ['preparing the model\'s shapes (once per browser)…', null];
  if (p.stage === 'placing-shapes') return ['preparing the shapes for placing layers…', null];
  if (p.stage === 'encoder') return ['the network is painting its layers…', null];
  return [`placing layers… ${p.done}/${p.total}`, p.done! / p.total!];
}

/**
 * Decompose a frame with the library's pipeline (in the worker), then show the picture being built:
 * the canvas after each layer, a few layers per frame. Returns whether it ran.
 */
async function decompose(frame: Frame, name: string): Promise<boolean> {
  if (!state.model || !state.engine || state.busy) return false;
  const req = checked(() => ({ layers: requestedLayers(), budgetMs: requestedBudget() }));
  if (!req) return false;
  state.busy = true;
  state.frame = frame;
  state.layers = [];
  state.selected = -1;
  state.beforeRefine = null;
  state.source = { editor: 'stratum web', image: name, checkpoint: MODEL_URL.split('/').pop(), trainedOn };
  $('empty').hidden = true;
  $('work').hidden = false;
  showInput(frame);
  $('input-label').textContent = `${name} · ${frame.width}×${frame.height}`;
  $('refine-info').textContent = '';
  fitSizeOptions();
  refresh();
  refineControls();
  const t0 = performance.now();
  let text: [string, number | null] = state.engine.shapesReady ? ['the network is painting its layers…', null] : progressText({ stage: 'shapes' });
  const show = () => setStatus('decomposing', `${text[0]} ${((performance.now() - t0) / 1000).toFixed(0)} s`, text[1]);
  show();
  const ticker = setInterval(show, 500);
  try {
    const r = await state.engine.decompose(frame, { layers: req.layers, budgetMs: req.budgetMs || undefined }, state.source, (p) => {
      text = progressText(p);
      show();
    });
    clearInterval(ticker);
    state.source = r.doc.source ?? {};
    state.layers = r.doc.layers;
    // the picture being built: a few layers per frame, so it takes about a second whatever their number
    const N = state.layers.length;
    const per = Math.max(1, Math.ceil(N / 60));
    for (let t = Math.min(per, N), done = 0; done < N; done = t, t = Math.min(N, t + per)) {
      draw(t);
      drawSteps(t, done);
      setStatus('decomposing', `building the picture… layer ${t} of ${N}`, t / N);
      await nextFrame();
    }
    state.busy = false;
    buildLayerList();
    refineControls();
    const g = contributionGrid()!;
    const placed = r.placed ? ` (${r.placed} placed)` : '';
    const psnr = Number($('layers').dataset.psnr);
    setStatus('done', `${N} layers${placed} · ${psnr.toFixed(1)} dB · ${((performance.now() - t0) / 1000).toFixed(1)} s — click a layer on the right to edit it`);
    $('status').title = `PSNR against the image at ${g.width}×${g.height}`;
    return true;
  } catch (e) {
    clearInterval(ticker);
    state.busy = false;
    refineControls();
    setStatus('error', `decomposition failed (${(e as Error).message})`);
    return false;
  }
}

// ------------------------------------------------------------------ input, zoom, export
/** an image at its own size (the long side at most MAX_INPUT_SIDE, as the CLI reads it), RGB bytes */
function readFrame(img: HTMLImageElement): Frame {
  const s = Math.min(1, MAX_INPUT_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
  const width = Math.max(1, Math.round(img.naturalWidth * s));
  const height = Math.max(1, Math.round(img.naturalHeight * s));
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  const g = c.getContext('2d', { willReadFrequently: true })!;
  g.imageSmoothingQuality = 'high';
  g.drawImage(img, 0, 0, width, height);
  const px = g.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) for (let k = 0; k < 3; k++) rgb[3 * p + k] = px[4 * p + k]!;
  return { width, height, rgb };
}

async function loadImage(src: string | Blob): Promise<boolean> {
  if (!state.model || state.busy) return false;
  // the fields first: a bad value is refused before the image is read
  if (!checked(() => [requestedLayers(), requestedBudget()])) return false;
  setStatus('decomposing', 'reading the image…', null);
  const url = typeof src === 'string' ? src : URL.createObjectURL(src);
  const img = new Image();
  img.src = url;
  state.busy = true;
  try {
    await img.decode();
  } catch {
    setStatus('error', 'cannot read that image (PNG, JPEG, WebP or GIF)');
    return false;
  } finally {
    state.busy = false;
    if (typeof src !== 'string') URL.revokeObjectURL(url);
  }
  const name = typeof src === 'string' ? src.split('/').pop()! : src instanceof File ? src.name : 'image';
  return decompose(readFrame(img), name);
}

function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function zoom(dir: number): void {
  const i = ZOOMS.indexOf(state.viewSize);
  state.viewSize = ZOOMS[Math.min(ZOOMS.length - 1, Math.max(0, (i < 0 ? 2 : i) + dir))]!;
  draw();
}

function sampleButton(s: string, photo: boolean): HTMLButtonElement {
  const b = button(photo ? '' : s.replace(/\.\w+$/, ''), `decompose samples/${s}`, () => void loadImage(`../samples/${s}`));
  if (photo) {
    const img = document.createElement('img');
    img.src = `../samples/${s}`;
    img.alt = s;
    b.append(img, s.replace(/\.\w+$/, ''));
    b.className = 'photo';
  }
  return b;
}

function wire(): void {
  // the fields' defaults live in src/config.ts
  $<HTMLInputElement>('decompose-budget').value = String(EDITOR_DEFAULTS.placeBudgetMs / 1000);
  $<HTMLInputElement>('refine-budget').value = String(REFINE_DEFAULTS.budgetMs / 1000);
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
  for (const s of PHOTOS) $('samples').append(sampleButton(s, true));
  for (const s of FASHION) $('fashion').append(sampleButton(s, false));
  $<HTMLImageElement>('empty-photo').src = `../samples/${PHOTOS[0]}`;
  $('start-sunset').onclick = () => void loadImage(`../samples/${PHOTOS[0]}`);
  $('zoom-in').onclick = () => zoom(+1);
  $('zoom-out').onclick = () => zoom(-1);
  $('refine').onclick = () => void refine();
  $('refine-stop').onclick = stopRefine;
  $('refine-undo').onclick = undoRefine;
  hooks.changed = () => refineControls();
  $('export-png').onclick = () => $<HTMLCanvasElement>('view').toBlob((b) => b && download(`stratum-${viewDims().join('x')}.png`, b), 'image/png');
  $('export-doc').onclick = () => download('stratum.stratum.json', new Blob([JSON.stringify(currentDocument())], { type: 'application/json' }));
}

/** the model file, with progress while it downloads */
async function fetchModel(): Promise<ArrayBuffer> {
  const res = await fetch(MODEL_URL);
  if (!res.ok || !res.body) throw new Error(`${MODEL_URL}: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length')) || 0;
  const parts: Uint8Array[] = [];
  let got = 0;
  for (const reader = res.body.getReader(); ; ) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    setStatus('loading', 'loading the model…', total ? got / total : null);
  }
  const bytes = new Uint8Array(got);
  let o = 0;
  for (const p of parts) bytes.set(p, (o += p.length) - p.length);
  return bytes.buffer;
}

async function start(): Promise<void> {
  wire();
  setStatus('loading', 'loading the model…', null);
  try {
    const backend = await startBackend(backendChoice(params.get('backend')));
    const bytes = await fetchModel();
    const ckpt = parseCheckpoint(new Uint8Array(bytes), MODEL_URL);
    state.model = modelFromCheckpoint(ckpt, MODEL_URL);
    trainedOn = ckpt.header.data;
    setStatus('loading', 'starting the decomposer…', null);
    state.engine = new Engine(bytes, MODEL_URL, backendChoice(backend));
    await state.engine.ready;
  } catch (e) {
    setStatus('error', `cannot load the model (${(e as Error).message})`);
    return;
  }
  const m = state.model.cfg;
  const layersField = $<HTMLInputElement>('decompose-layers');
  layersField.value = String(m.T);
  layersField.max = String(hasBank() ? PLACE_DEFAULTS.maxLayers : maxEncoderSteps(m.T));
  const info = () =>
    `${MODEL_URL.split('/').pop()}: ${m.encoder} encoder, T=${m.T} whole-frame layers, K=${m.mask.K} mask parameters, trained at ${m.size}²${trainedOn ? ` on ${trainedOn}` : ''}${hasBank() ? ', a bank of learned shapes' : ''} — tfjs ${tf.getBackend()} (page), ${state.engine!.backend} (decomposer)`;
  $('model-info').textContent = info();
  const ready = () => (state.engine!.shapesReady ? 'Ready — pick the photo or drop your own image.' : 'Ready — pick the photo or drop your own image (the model prepares its shapes in the background, once per browser).');
  state.engine.onIdle = (e) => {
    if (e.error) setStatus('error', `the decomposer failed (${e.error})`);
    else if (document.body.dataset.status === 'ready') setStatus('ready', ready());
    if (e.shapesSeconds !== undefined) $('model-info').textContent = `${info()}; shapes prepared in ${e.shapesSeconds.toFixed(1)} s`;
  };
  refineControls();
  setStatus('ready', ready());
}

// hooks for tests and the console: decomposeRgb takes raw RGB bytes (as the library's Frame)
(window as unknown as { stratum: unknown }).stratum = {
  state,
  document: currentDocument,
  draw,
  loadImage,
  refine,
  decomposeRgb: (f: { width: number; height: number; rgb: ArrayLike<number> }, name = 'image') => decompose({ width: f.width, height: f.height, rgb: Uint8Array.from(f.rgb) }, name),
  backend: () => tf.getBackend(),
  workerBackend: () => state.engine?.backend,
};
void start();
