/**
 * Refine against the image: the library's refinement (src/model/refineDocument.ts, the same as
 * `stratum decompose --refine`, --greedy and --prune), a slice of steps per frame so the page stays
 * responsive, with progress, Stop and Undo. It fits whole-frame layers in their own coordinates,
 * so its target is the frame stretched to the fit size's square (src/pipeline/decompose.ts
 * stretchedFrame, as the CLI and the library do); placed, sharpened or translucent layers are not
 * refined, so with any of them in the stack the panel says so and stays off.
 */
import { EDITOR_DEFAULTS, REFINE_DEFAULTS } from '../src/config.js';
import { isPlacedOrSharp } from '../src/core/placement.js';
import { maxEncoderSteps } from '../src/model/decomposeImage.js';
import { runStepsAsync, type RefineProgress } from '../src/model/refine.js';
import { refineDecompositionSteps } from '../src/model/refineDocument.js';
import { stretchedFrame } from '../src/pipeline/decompose.js';
import { refresh } from './layersPanel.js';
import { currentDocument, state } from './state.js';
import { $, checked, nextFrame, numberField, setStatus } from './ui.js';
import { keepMask } from './view.js';

const FIT_SIZES = EDITOR_DEFAULTS.fitSizes;
let stopRequested = false;

/** fit sizes for the loaded image (src/config.ts EDITOR_DEFAULTS) and its own short side if smaller; REFINE_DEFAULTS.fitSize or that side by default */
export function fitSizeOptions(): void {
  const select = $<HTMLSelectElement>('refine-fit');
  select.replaceChildren();
  if (!state.frame) return;
  const side = Math.min(state.frame.width, state.frame.height);
  const sizes = [...new Set([...FIT_SIZES, ...(side < FIT_SIZES.at(-1)! ? [side] : [])])].sort((a, b) => a - b);
  const preferred = Math.min(REFINE_DEFAULTS.fitSize, side);
  for (const f of sizes) {
    const o = document.createElement('option');
    o.value = String(f);
    o.textContent = `${f}²${f > side ? ' (upsampled)' : ''}`;
    o.selected = f === preferred;
    select.append(o);
  }
}

/** the placed (or sharpened, translucent) layers in the stack: refinement leaves those documents alone */
const placedLayers = () => state.layers.filter(isPlacedOrSharp).length;

export function refineControls(running = false): void {
  const placed = placedLayers();
  $<HTMLButtonElement>('refine').disabled = running || state.busy || !state.frame || state.layers.length === 0 || placed > 0;
  $<HTMLButtonElement>('refine-stop').hidden = !running;
  $<HTMLButtonElement>('refine-stop').disabled = !running;
  $<HTMLButtonElement>('refine-undo').disabled = running || !state.beforeRefine;
  const T = state.model?.cfg.T ?? 0;
  $('refine-note').textContent = placed
    ? `Refinement fits soft whole-frame layers only; ${placed} of these ${state.layers.length} layers are placed or crisp (their own position, size and angle, or a sharpened edge). Decompose with ${T} layers or fewer to refine, or delete those.`
    : '';
  $('refine-panel').classList.toggle('off', placed > 0);
}

function showProgress(s: RefineProgress, budgetMs: number): void {
  const bar = $<HTMLProgressElement>('refine-progress');
  bar.max = budgetMs;
  bar.value = Math.min(budgetMs, s.elapsedMs);
  const info = $('refine-info');
  info.dataset.step = String(s.step);
  info.textContent = `step ${s.step} · ${(s.elapsedMs / 1000).toFixed(1)} s · ${s.psnr.toFixed(2)} dB (on this step's pixels)`;
  setStatus('refining', `refining… ${(s.elapsedMs / 1000).toFixed(1)} of ${budgetMs / 1000} s`, s.elapsedMs / budgetMs);
}

/**
 * Refine the current layers against the loaded image at the chosen fit size; Stop ends it at the
 * next step and keeps the better of start and end (refinement never lowers PSNR). The document's
 * source.refinement records the run as the CLI records it.
 */
export async function refine(): Promise<void> {
  if (!state.model || !state.frame || state.busy || state.layers.length === 0 || placedLayers() > 0) return;
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
  setStatus('refining', `refining at ${fit}² for up to ${budgetMs / 1000} s…`, 0);
  await nextFrame();
  const before = { layers: state.layers, source: state.source };
  try {
    const target = { rgb: stretchedFrame(state.frame, fit), size: fit };
    const steps = refineDecompositionSteps(currentDocument(), target, { ...more, budgetMs, minSteps: 1, layersPerPause: 1, shouldStop: () => stopRequested, onStep: (s) => showProgress(s, budgetMs) });
    const r = await runStepsAsync(steps, nextFrame);
    state.layers = r.doc.layers;
    state.source = r.doc.source ?? {};
    // the refinement's masks of these layers at the fit size (a square frame's): a redraw at that size need not compute them again
    const square = state.frame.width === state.frame.height;
    if (square && r.refine && r.pruned.length === 0 && r.added === 0) r.doc.layers.forEach((l, t) => keepMask(l, fit, fit, r.refine!.masks[t]!));
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
    refresh();
  }
}

/** back to the layers (and record) from before the last refinement */
export function undoRefine(): void {
  if (!state.beforeRefine || state.busy) return;
  state.layers = state.beforeRefine.layers;
  state.source = state.beforeRefine.source;
  state.beforeRefine = null;
  refineControls();
  refresh();
  setStatus('done', 'refinement undone');
}

export function stopRefine(): void {
  stopRequested = true;
  $<HTMLButtonElement>('refine-stop').disabled = true;
}
