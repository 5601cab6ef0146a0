/** stratum experiment: what the command does (its flags and help: src/cli/commands/experiment.ts, which imports this file only when the command runs) */
import { Command } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { transferTable } from '../../experiments/transfer.js';
import { readImageFrame } from '../../data/images.js';
import { jitterFigure, vectorizeFigure } from '../../experiments/figures.js';
import { loadModel } from '../../model/checkpoint.js';
import { decomposeFrame } from '../../model/decomposeFrame.js';
import { modelConfig, type EncoderKind } from '../../config.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadSplit } from '../../research/data/datasets.js';
import { checkTableSize, markdownTable, runExperiment } from '../../experiments/tables.js';
import { checkOutputFolder } from '../../io/paths.js';
import { checkTraining } from '../limits.js';
import { outputOf } from '../options.js';
import { say, shown } from '../say.js';
import type { OptionValues } from 'commander';

export async function runExperiments(table: string, o: OptionValues, c: Command): Promise<void> {
  o.out = outputOf(c);
  checkOutputFolder(o.out);
  if (table === 'jitter' || table === 'vectorize') {
    const images = String(o.images).split(',').filter(Boolean);
    for (const img of images) if (!existsSync(img)) throw new Error(`${img}: no such file (--images)`);
    await useBackend(o.backend as BackendName);
    const { model } = loadModel(o.model);
    mkdirSync(o.out, { recursive: true });
    if (table === 'jitter') {
      const frame = await readImageFrame(images[0]!, 2048);
      const doc = decomposeFrame(model, frame, {}).doc;
      const r = await jitterFigure(doc, o.out, { layer: o.layer, directions: 4, values: 10, range: 2, side: 96, seed: o.seed });
      say(`layer ${r.layer} of ${shown(images[0]!)} moved along 4 random unit directions, k = ${r.ks.map((k) => k.toFixed(2)).join(', ')}; wrote ${shown(r.path)}`);
    } else {
      const r = await vectorizeFigure(model, images, o.out);
      for (const row of r.rows) say(`${row.image}: edge sharpness at 1024 (p99 |∇L|, grey levels per pixel): mask network ${row.vector.toFixed(1)}, bilinear ${row.bilinear.toFixed(1)}, bicubic ${row.bicubic.toFixed(1)}, crisp layers ${row.crisp.toFixed(1)}`);
      say(`wrote ${shown(r.path)} and ${shown(join(o.out, 'vectorize.md'))}`);
    }
    return;
  }
  if (table === 'transfer') {
    const files = String(o.models).split(',').filter(Boolean);
    for (const f of files) if (!existsSync(f)) throw new Error(`${f}: no such model file (--models)`);
    await useBackend(o.backend as BackendName);
    const models = files.map((f) => ({ name: basename(f, '.stratum'), model: loadModel(f).model }));
    const size = models[0]!.model.cfg.size;
    const sets = [];
    for (const spec of String(o.sets).split(',').filter(Boolean)) sets.push({ name: spec.split(':')[0]!, set: (await loadSplit(spec, o.holdout, { size, limit: o.limit, seed: o.seed })).test });
    mkdirSync(o.out, { recursive: true });
    const r = await transferTable(models, sets, o.out, o.show);
    say(...r.markdown.trim().split('\n'));
    say(`wrote ${shown(join(o.out, 'transfer.md'))} and ${shown(r.picture)}`);
    return;
  }
  if (table !== 'table1' && table !== 'table2') throw new Error(`unknown experiment '${table}' (table1, table2, jitter, vectorize, transfer)`);
  checkTableSize(table, o.size);
  await useBackend(o.backend as BackendName);
  const { train: tr, test } = await loadSplit(o.data, o.holdout, { size: o.size, limit: o.limit, seed: o.seed });
  // the largest row: T=20, K=20 (table1) or T=20 (table2)
  checkTraining(modelConfig({ T: 20, size: o.size, encoder: o.encoder as EncoderKind, mask: { K: 20 } }), o.batch, tr.data.byteLength + test.data.byteLength, `experiment ${table}`);
  const rows = await runExperiment({ table, data: o.data, train: tr, test, steps: o.steps, batch: o.batch, encoder: o.encoder as EncoderKind, out: o.out, seed: o.seed, show: o.show, log: (m) => process.stderr.write(`${m}\n`) });
  say(...markdownTable(rows, { data: o.data, steps: o.steps, encoder: o.encoder, testN: test.n }).replace(/\n$/, '').split('\n'));
  say(`wrote ${shown(join(o.out, `${table}.md`))}, ${table}.csv, ${table}.png`);
}
