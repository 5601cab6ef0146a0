/** stratum shapes: what the command does (its flags and help: src/cli/commands/shapes.ts, which imports this file only when the command runs) */
import { Command } from 'commander';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadDataset } from '../../research/data/datasets.js';
import { checkOutputs } from '../../io/paths.js';
import { Progress } from '../../io/progress.js';
import { loadModel, saveCheckpoint } from '../../model/checkpoint.js';
import { MAX_BANK_VALUES, MAX_SHAPES } from '../../model/decomposer.js';
import { chooseShapeBank } from '../../research/train/chooseShapeBank.js';
import { fitEdgeShapes } from '../../research/train/edgeShapes.js';
import { outputOf } from '../options.js';
import { say, shown } from '../say.js';
import type { OptionValues } from 'commander';

export async function runShapes(from: string, o: OptionValues, c: Command): Promise<void> {
  if (c.opts().output === undefined) throw new Error('shapes: name the model file to write with -o/--output');
  const to = outputOf(c);
  checkOutputs([to], [from]);
  if (o.count > MAX_SHAPES) throw new Error(`--count must be at most ${MAX_SHAPES}, got ${o.count}`);
  await useBackend(o.backend as BackendName);
  const { model, ckpt } = loadModel(from);
  const S = model.cfg.size;
  if (o.count * S * S > MAX_BANK_VALUES) {
    model.dispose();
    throw new Error(`--count ${o.count} is too many shapes for a ${S}² model (at most ${Math.floor(MAX_BANK_VALUES / (S * S))})`);
  }
  const t0 = Date.now();
  if (o.edges) {
    const bar = new Progress(o.edgeSteps, 0, 'edges ');
    const r = fitEdgeShapes(model, { steps: o.edgeSteps, onStep: (s, l) => bar.update(s, `BCE ${l.toFixed(4)}`) });
    bar.finish();
    if (r.names.length === 0) throw new Error('no edge shape fitted well enough (every mean error above 0.05)');
    model.setEdgeShapes(r.p);
    const errors = Object.fromEntries(Object.entries(r.error).map(([n, e]) => [n, Number(e.toFixed(4))]));
    say(`edge shapes: ${r.names.length} of ${Object.keys(r.error).length} kept; mean |mask − target| ${Object.entries(errors).map(([n, e]) => `${n} ${e}`).join(', ')}`);
    saveCheckpoint(to, model, { step: ckpt.header.step, data: ckpt.header.data, weightsOnly: true, train: ckpt.header.train, info: { ...ckpt.header.info, edgeShapes: { names: r.names, steps: o.edgeSteps, error: errors } } });
    say(`wrote ${shown(to)} with ${r.names.length} edge shapes (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    model.dispose();
    return;
  }
  let info: Record<string, unknown> = { count: 0 };
  if (o.count === 0) model.setShapes(null);
  else {
    const images = await loadDataset(o.data, { size: model.cfg.size, seed: o.seed, log: (m) => process.stderr.write(`${m}\n`) });
    if (o.poolImages >= images.n) throw new Error(`--pool-images ${o.poolImages} leaves none of the ${images.n} images of ${o.data} to choose by usage`);
    // each bar starts its clock when its stage starts
    const bars: Partial<Record<'pool' | 'usage', Progress>> = {};
    const r = chooseShapeBank(model, images, {
      count: o.count,
      poolImages: o.poolImages,
      minDb: o.minDb,
      candidates: o.candidates,
      seed: o.seed,
      progress: (stage, done, total) => {
        const bar = (bars[stage] ??= new Progress(total, 0, stage === 'pool' ? 'pool  ' : 'usage '));
        bar.update(done, stage === 'pool' ? 'decomposing' : 'counting swaps');
        if (done === total) bar.finish();
      },
    });
    model.setShapes(r.p);
    info = { count: r.p.length / model.cfg.mask.K, data: o.data, poolImages: o.poolImages, pool: r.pool, used: r.used, minDb: o.minDb, candidates: o.candidates, seed: o.seed };
    say(`pool: ${r.pool} layers worth ≥ ${o.minDb} dB; ${r.used} of ${Math.min(o.candidates, r.pool)} tried were swapped in at least once`);
  }
  saveCheckpoint(to, model, { step: ckpt.header.step, data: ckpt.header.data, weightsOnly: true, train: ckpt.header.train, info: { ...ckpt.header.info, shapeBank: info } });
  say(`wrote ${shown(to)} with ${info.count} shapes (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  model.dispose();
}
