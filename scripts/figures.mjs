#!/usr/bin/env node
/**
 * `npm run figures`: regenerate the figures of docs/results.md that have a command, into docs/results/.
 *
 *   npm run figures                 the quick ones (bundled models; the two trained experiments resume
 *                                   from their results folders, about 30 minutes here the first time)
 *                                   and those whose stored runs are present
 *   npm run figures -- --long       also the ones that need long trainings (hours on a 2-core CPU)
 *   npm run figures -- --only fig9-adversarial,fig16-jitter
 *   npm run figures -- --list       what each figure needs, and the figures it cannot make
 *
 * Every experiment's results folder is under runs/ (kept between calls: finished rows and trained
 * models are cached there, so a second call only redraws). A figure whose command fails is reported
 * and the others still run; the exit code is 1 when any failed.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const DOCS = join(ROOT, 'docs', 'results');
const stratum = (...args) => ['node', 'bin/stratum.js', ...args];
const tsx = (...args) => ['node', '--import', 'tsx', ...args];

/**
 * Tables 1 and 2 at 3000 steps a row, canvas detached, as carried in data/tables-SET by
 * scripts/tables-cpu.sh: the rows finished so far (--finished-only trains nothing) and every row's
 * held-out curve so far. name: the figure; files: docs/results/FILES-table1.png …; encoder, tables
 * and rows (absent: every row) pick what is drawn; flags: more of the rows' training flags (--loss mse).
 */
const tablesFigure = (name, set, data, files, what, { encoder = 'small', tables = ['table1', 'table2'], rows, flags = [] } = {}) => tables.map((t) => {
  const args = [t, '--data', data, '--steps', '3000', '--batch', '32', '--holdout', '256', '--encoder', encoder, '--stop-canvas-grad', ...(rows ? ['--rows', rows] : []), ...flags];
  const dir = `runs/${name}-${t}`;
  return {
    // a table with no finished row yet (a run that has only started): --finished-only says so in one
    // line (tables.ts knows which rows are the table's), and the figure is skipped, not failed
    emptyWhen: /none of table\d's rows asked for is finished/,
    name: `${name}-${t}`, kind: 'stored', what: `${what}, ${t === 'table1' ? 'Table 1' : 'Table 2'}, ${encoder} encoder, at 3000 steps per row, canvas detached (the current recipe): the rows finished so far and the held-out curves, rows in training included, redrawn from data/tables-${set} without training`, needs: [`data/tables-${set}/rows.json`],
    trainings: `data/tables-${set}/README.md (bash scripts/tables-cpu.sh start | keep: experiment ${args.join(' ')})`,
    steps: [
      ['sh', '-c', `rm -rf ${dir} && mkdir -p ${dir} && cp -r data/tables-${set}/. ${dir}/`],
      stratum('experiment', ...args, '--finished-only', '-o', dir),
    ],
    copy: [[`${dir}/${t}-curves.png`, `${files}-${t}-curves.png`], [`${dir}/${t}.png`, `${files}-${t}.png`]],
  };
});

/**
 * kind: 'quick' (runs by default), 'stored' (runs by default when its stored run folders exist;
 * otherwise it names the trainings behind them), 'long' (needs --long).
 * steps: the commands in order; copy: [file written by the last step, figure in docs/results].
 * emptyWhen (optional): a step failing with this in its error holds nothing to draw yet: the figure
 * is skipped with that line, not failed (its steps' errors are read, so shown when they end).
 */
const FIGURES = [
  { name: 'fig16-jitter', kind: 'quick', what: 'Fig. 16: one mask moved along random directions of p', steps: [stratum('experiment', 'jitter', '-o', 'runs/fig16')], copy: [['runs/fig16/jitter.png', 'fig16-jitter.png']] },
  { name: 'fig5c-vectorize', kind: 'quick', what: 'Fig. 5c: the 32² model rendered at 1024 against bilinear/bicubic upsampling', steps: [stratum('experiment', 'vectorize', '-o', 'runs/fig5c')], copy: [['runs/fig5c/vectorize.png', 'fig5c-vectorize.png']] },
  { name: 'fig15-transfer', kind: 'quick', what: 'Fig. 15: the photo and Fashion-MNIST models on each other\'s held-out images', steps: [stratum('experiment', 'transfer', '--holdout', '256', '-o', 'runs/fig15')], copy: [['runs/fig15/transfer.png', 'fig15-transfer.png']] },
  { name: 'fig9-adversarial', kind: 'quick', what: 'Fig. 9: L1 + λ·WGAN-GP, λ = 0, 0.01, 0.1, 1 at T = 10 and 20 (about 20 minutes the first time; rows cached in runs/fig9)', steps: [stratum('experiment', 'adversarial', '-o', 'runs/fig9')], copy: [['runs/fig9/adversarial.png', 'fig9-adversarial.png']] },
  { name: 'fig8-quantize64', kind: 'quick', what: 'Fig. 8: a 64², 20-mask model against 20-colour quantisation (trains its model the first time, about 10 minutes; kept in runs/fig8)', steps: [stratum('experiment', 'quantize64', '-o', 'runs/fig8')], copy: [['runs/fig8/quantize64.png', 'fig8-quantize64.png']] },
  { name: 'sunset-100-layers', kind: 'quick', what: "the README's picture: samples/sunset.jpg in 10 and 100 layers", steps: [tsx('scripts/sunset-figure.ts', 'docs/results/sunset-100-layers.png')], copy: [] },
  { name: 'photos-train', kind: 'quick', what: 'the first 64 training images of the photo corpus at 32² (docs/photos.md)', steps: [tsx('scripts/photos-grid.ts', 'docs/results/photos-train.png')], copy: [] },
  { name: 'sunset-layers', kind: 'quick', what: "samples/sunset.jpg's 10-layer decomposition and the same refined (--refine, 2 s at 128²), each layer captioned with the PSNR it is worth (docs/photos.md)", steps: [stratum('decompose', 'samples/sunset.jpg', '--size', '512', '-o', 'runs/sunset-layers'), stratum('decompose', 'samples/sunset.jpg', '--size', '512', '--refine', '-o', 'runs/sunset-refined')], copy: [['runs/sunset-layers/sunset.layers.png', 'sunset-layers.png'], ['runs/sunset-refined/sunset.layers.png', 'sunset-refined-layers.png']] },
  { name: 'sunset-crisp', kind: 'quick', what: 'the default (crisp) against --soft at 100 and 300 layers', steps: [tsx('scripts/crisp-figure.ts', 'docs/results/sunset-crisp.png')], copy: [] },
  {
    name: 'photo-ablation', kind: 'stored', what: 'base / stop canvas grad / GroupNorm encoder, 200 steps each', needs: ['runs/ablate/base', 'runs/ablate/stopgrad', 'runs/ablate/gn'],
    trainings: 'node bin/stratum.js train --data photos:20000 --encoder small --T 10 --K 10 --batch 32 --steps 200 --eval-every 50 --holdout 256 --guard-drop 0 --guard-loss-jump 0 -o runs/ablate/NAME [--stop-canvas-grad | --encoder-norm group]',
    steps: [tsx('scripts/compare-runs.ts', 'docs/results/photo-ablation.png', 'base (lr 1e-3, BN)=runs/ablate/base', 'stop canvas grad=runs/ablate/stopgrad', 'GroupNorm encoder=runs/ablate/gn')], copy: [],
  },
  {
    name: 'photos-leg4-ab', kind: 'stored', what: "leg 4's 500-step comparison", needs: ['runs/l4-ls05', 'runs/l4-ls09', 'runs/l4-wide'], trainings: 'models/README.md, leg 4; docs/photos.md "Leg 4"',
    steps: [tsx('scripts/compare-runs.ts', 'docs/results/photos-leg4-ab.png', 'A ls-loss 0.5=runs/l4-ls05', 'B ls-loss 0.9=runs/l4-ls09', 'W wider, ls-loss 0.9=runs/l4-wide')], copy: [],
  },
  {
    name: 'photos-leg5-ab', kind: 'stored', what: "leg 5's 500-step comparison", needs: ['runs/photo-leg5', 'runs/l5-step', 'runs/l5-flat', 'runs/l5-cov'], trainings: 'models/README.md, leg 5; docs/photos.md "Leg 5"',
    steps: [tsx('scripts/compare-runs.ts', 'docs/results/photos-leg5-ab.png', 'P plain=runs/photo-leg5', 'S step-loss 0.3=runs/l5-step', 'F flatten=runs/l5-flat', 'C flatten + coverage-loss (from F at 1,800)=runs/l5-cov')], copy: [],
  },
  ...['fashion-mnist', 'patches'].flatMap((set) => ['table1', 'table2'].map((t) => ({
    name: `${set}-${t}`, kind: 'long', what: `${t} on ${set}, 200 steps per row (rows cached in runs/experiments/${set}; 1–3 hours from scratch)`,
    steps: [stratum('experiment', t, '--data', set === 'patches' ? 'patches:/usr/share/backgrounds:96' : 'fashion-mnist', '--steps', '200', '--batch', '32', '--holdout', '256', '--encoder', 'small', '--out', `runs/experiments/${set}`)],
    copy: [[`runs/experiments/${set}/${t}.png`, `${set}-${t}.png`]],
  }))),
  {
    name: 'photos-quality-scale-256', kind: 'long', what: 'N layers at 256² and 512² against geometrize (16 minutes on an idle machine)',
    steps: [['npm', 'run', 'bench:quality', '--', '--sizes', '256,512', '--limit', '10', '--layers', '20,50,100', '--shapes', '10,20,50,100', '--peers', 'triangle', '--refine-steps', '0', '--show', '3', '--out', 'runs/bench-quality-scale10']],
    copy: [['runs/bench-quality-scale10/quality-256.png', 'photos-quality-scale-256.png']],
  },
  {
    name: 'photos-quality', kind: 'long', what: 'bench:quality on the first 40 held-out photos at 32², 64², 128² (about 3 minutes on an idle machine): photos-quality-32.png, photos-quality-128.png',
    steps: [['npm', 'run', 'bench:quality', '--', '--limit', '40', '--refine-steps', '20', '--out', 'runs/bench-quality']],
    copy: [['runs/bench-quality/quality-32.png', 'photos-quality-32.png'], ['runs/bench-quality/quality-128.png', 'photos-quality-128.png']],
  },
  {
    name: 'fig6-enhance', kind: 'long', what: "Fig. 6: the enhancer (U-Net + patch critic) trained on 1,200 (render → photo) pairs, 1,500 steps (about an hour here), then samples/sunset.jpg's 10-layer document enhanced at 64 and 640 px: fig6-enhance.png, fig6-enhance-curves.png, fig6-sunset-64.png, fig6-sunset-640.png",
    steps: [
      stratum('train-enhancer', '-o', 'runs/enhance'),
      stratum('decompose', 'samples/sunset.jpg', '-o', 'runs/enhance-sunset'),
      stratum('enhance', 'runs/enhance-sunset/sunset.stratum.json', '--net', 'runs/enhance/enhancer.stratum', '--size', '64', '--photo', 'samples/sunset.jpg', '--compare', 'runs/enhance-sunset/compare-64.png', '-o', 'runs/enhance-sunset/enhanced-64.png'),
      stratum('enhance', 'runs/enhance-sunset/sunset.stratum.json', '--net', 'runs/enhance/enhancer.stratum', '--size', '640', '--photo', 'samples/sunset.jpg', '--compare', 'runs/enhance-sunset/compare-640.png', '-o', 'runs/enhance-sunset/enhanced-640.png'),
    ],
    copy: [['runs/enhance/enhance.png', 'fig6-enhance.png'], ['runs/enhance/enhance-curves.png', 'fig6-enhance-curves.png'], ['runs/enhance-sunset/compare-64.png', 'fig6-sunset-64.png'], ['runs/enhance-sunset/compare-640.png', 'fig6-sunset-640.png']],
  },
  {
    name: 'patches-table1-3000', kind: 'stored', what: 'Table 1 on photo patches at 3000 steps per row: the finished rows (rows.json) and their held-out curves, redrawn without training', needs: ['data/table1-patches/rows.json'],
    trainings: 'data/table1-patches/README.md (experiment table1 --data patches:/usr/share/backgrounds:96 --steps 3000 --batch 32 --holdout 256 --encoder small)',
    steps: [['sh', '-c', 'mkdir -p runs/table1-patches-3000 && cp -r data/table1-patches/. runs/table1-patches-3000/'], stratum('experiment', 'table1', '--data', 'patches:/usr/share/backgrounds:96', '--steps', '3000', '--batch', '32', '--holdout', '256', '--encoder', 'small', '--rows', 'T=5:K=10,T=10:K=5,T=10:K=10', '-o', 'runs/table1-patches-3000')],
    copy: [['runs/table1-patches-3000/table1-curves.png', 'patches-table1-3000-curves.png'], ['runs/table1-patches-3000/table1.png', 'patches-table1-3000.png']],
  },
  ...tablesFigure('patches-stopgrad', 'patches', 'patches:/usr/share/backgrounds:96', 'patches-stopgrad', 'Photo patches'),
  ...tablesFigure('fashion-stopgrad', 'fashion', 'fashion-mnist', 'fashion-stopgrad', 'Fashion-MNIST'),
  ...tablesFigure('fashion-mlpxy-mse', 'fashion', 'fashion-mnist', 'fashion-mlpxy-mse', 'Fashion-MNIST, MLP-xy trained on MSE (under L1 it goes black)', { tables: ['table2'], rows: 'mlpxy', flags: ['--loss', 'mse'] }),
  ...tablesFigure('patches-resnet18', 'patches', 'patches:/usr/share/backgrounds:96', 'patches-resnet18', 'Photo patches', { encoder: 'resnet18', tables: ['table1'], rows: 'T=10:K=10,T=20:K=10' }),
  ...tablesFigure('fashion-resnet18', 'fashion', 'fashion-mnist', 'fashion-resnet18', 'Fashion-MNIST', { encoder: 'resnet18', tables: ['table1'], rows: 'T=10:K=10,T=20:K=10' }),
  ...tablesFigure('fashion-resnet18', 'fashion', 'fashion-mnist', 'fashion-resnet18', 'Fashion-MNIST', { encoder: 'resnet18', tables: ['table2'], rows: 'Ours (T=10,mlp |z|=130,convt |z|=130' }),
  // ours (the Table 1 row above, shared) against the decoders at |z|=130, all with the paper's encoder
  ...tablesFigure('patches-resnet18', 'patches', 'patches:/usr/share/backgrounds:96', 'patches-resnet18', 'Photo patches', { encoder: 'resnet18', tables: ['table2'], rows: 'Ours (T=10,mlp |z|=130,convt |z|=130,resup |z|=130,mlpxy |z|=130' }),
  {
    name: 'gan-photos-kid950', kind: 'stored', what: 'KID of the photo GAN at step 950 (the state kept in data/gan-photos) with its calibration rows, and their samples', needs: ['data/gan-photos/gan.stratum'],
    trainings: 'data/gan-photos/README.md (stratum gan --data photos:20000 --steps 3000 --save-every 50, stopped at step 950)',
    steps: [stratum('experiment', 'kid', '--gans', 'data/gan-photos/gan.stratum', '--real', 'photos-test:512', '--n', '500', '-o', 'runs/kid950')], copy: [['runs/kid950/kid-samples.png', 'gan-photos-kid950.png']],
  },
  {
    name: 'collapse', kind: 'long', what: "the photo-patch collapse and its fix (docs/photos.md): 1,000 steps with the canvas gradient (the reported run) and with it stopped, every step's gradient norm and the masks' spread (about 45 minutes here): collapse-diagnosis.png, collapse-fixed.png",
    steps: [
      ...[['canvas-grad'], ['stopgrad', '--stop-canvas-grad']].map(([name, ...flag]) => stratum('train', '--data', 'patches:/usr/share/backgrounds:96', '--encoder', 'small', '--steps', '1000', '--eval-every', '100', '--guard-drop', '0', '--guard-loss-jump', '0', ...flag, '--resume', '-o', `runs/collapse/${name}`)),
      tsx('scripts/compare-runs.ts', 'docs/results/collapse-diagnosis.png', 'canvas gradient (the reported run)=runs/collapse/canvas-grad'),
      tsx('scripts/compare-runs.ts', 'docs/results/collapse-fixed.png', 'canvas gradient=runs/collapse/canvas-grad', 'canvas detached (--stop-canvas-grad)=runs/collapse/stopgrad'),
    ],
    copy: [],
  },
  {
    name: 'gan-photos', kind: 'stored', what: 'the photo GAN at its stored step (950): samples built layer by layer, one sample at 32² and 1024², its loss curves', needs: ['data/gan-photos/gan.stratum'],
    trainings: 'data/gan-photos/README.md (stratum gan --data photos:20000 --steps 3000 --save-every 50, stopped at step 950)',
    steps: [
      stratum('sample', '--model', 'data/gan-photos/gan.stratum', '--n', '8', '--size', '1024', '-o', 'runs/gan-photos-samples'),
      tsx('scripts/gan-resolution.ts', 'data/gan-photos/gan.stratum', 'docs/results/gan-photos-1024.png', '--sample', '0'),
      tsx('scripts/gan-curves.ts', 'data/gan-photos/gan-metrics.jsonl', 'docs/results/gan-photos-curves.png'),
    ],
    copy: [['runs/gan-photos-samples/sheet.png', 'gan-photos-sheet.png']],
  },
  ...[[256, '20,50,100'], [512, '100']].map(([size, layers]) => ({
    name: `photos-quality-${size}-edges`, kind: 'long', what: `N layers at ${size}² against geometrize's N triangles on 10 held-out photos, the default (crisp) and --soft rows (${size === 256 ? 10 : 15} minutes on an idle machine)`,
    steps: [['npm', 'run', 'bench:quality', '--', '--sizes', String(size), '--limit', '10', '--layers', layers, '--shapes', '10', '--peers', 'triangle', '--refine-steps', '0', '--show', '3', '--soft', '--out', `runs/bench-q${size}`]],
    copy: [[`runs/bench-q${size}/quality-${size}.png`, `photos-quality-scale-${size}-edges.png`]],
  })),
  {
    name: 'gan', kind: 'long', what: 'GAN on Fashion-MNIST, 1,000 generator steps (66 minutes), then samples: gan-samples.png, gan-curves.png, gan-sheet.png, gan-resolution.png (scripts/gan-resolution.ts)',
    steps: [stratum('gan', '--data', 'fashion-mnist', '--out', 'runs/gan-fmnist', '--steps', '1000', '--save-every', '50'), stratum('sample', '--model', 'runs/gan-fmnist/gan.stratum', '--n', '8', '--size', '1024', '--out', 'runs/gan-samples'), tsx('scripts/gan-resolution.ts', 'runs/gan-fmnist/gan.stratum', 'docs/results/gan-resolution.png')],
    copy: [['runs/gan-fmnist/samples.png', 'gan-samples.png'], ['runs/gan-fmnist/gan-curves.png', 'gan-curves.png'], ['runs/gan-samples/sheet.png', 'gan-sheet.png']],
  },
];

/** figures in docs/results/ this script cannot make, and why */
const CANNOT = [
  ['gpu-table1-curves.png, gpu-table1-b256-curves.png, gpu-table1-c-curves.png', 'trained on a lent GPU (scripts/gpu-table1.sh, docs/scale.md "On one GPU"); scripts/gpu-table1-report.ts redraws them from those run folders, which stay on the GPU machine'],
  ['photos-train-continued.png, photos-train-leg3.png, photos-train-leg4.png, photos-train-leg5.png, photos-train-leg6.png', "the bundled photo model's training curves (curves.png of runs/photo-*; about 8 hours of training, models/README.md)"],
  ['photos-quality-scale-256-refined.png, photos-quality-scale-512-refined.png', 'an earlier state of the placed layers (4 Dec, docs/results.md "Layers that scale, refined", commands beside them); the same commands today give photos-quality-256-edges / -512-edges'],
  ['gan-photos-kid-samples.png', "the photo GAN's checkpoints at steps 150, 300 and 450, which were not kept in the repository (only step 950, data/gan-photos); its command is beside it in docs/results.md"],
];

const argv = process.argv.slice(2);
const USAGE = 'usage: npm run figures [-- --list | --long | --only NAME,NAME]';
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
// anything else is refused before any figure is made (a mistyped flag once ran them all)
const stray = argv.filter((a, i) => !['--long', '--list', '--only'].includes(a) && argv[i - 1] !== '--only');
if (stray.length) {
  console.error(`figures: unknown argument ${stray.map((a) => `'${a}'`).join(', ')} (${USAGE})`);
  process.exit(2);
}
const long = argv.includes('--long');
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? '').split(',').filter(Boolean)) : null;
if (only) for (const n of only) if (!FIGURES.some((f) => f.name === n)) {
  console.error(`--only: no figure '${n}' (${FIGURES.map((f) => f.name).join(', ')})`);
  process.exit(2);
}
/** the files a figure writes into docs/results/ (its copies, and steps that write there directly) */
const makes = (f) => [...f.copy.map(([, to]) => to), ...f.steps.flat().filter((a) => a.startsWith('docs/results/')).map((a) => a.slice('docs/results/'.length))];
const show = (cmd) => cmd.map((a) => (/[\s'"()|=]/.test(a) && !a.startsWith('--') ? JSON.stringify(a) : a)).join(' ');

if (argv.includes('--list')) {
  for (const f of FIGURES) {
    console.log(`${f.name} [${f.kind}]: ${f.what}`);
    for (const s of f.steps) console.log(`    ${show(s)}`);
    console.log(`    makes ${makes(f).join(', ')}`);
    if (f.needs) console.log(`    needs ${f.needs.join(', ')} from: ${f.trainings}`);
  }
  console.log('\nnot made by this script:');
  for (const [what, why] of CANNOT) console.log(`  ${what}: ${why}`);
  process.exit(0);
}

mkdirSync(DOCS, { recursive: true });
const failed = [];
const skipped = [];
for (const f of FIGURES) {
  if (only && !only.has(f.name)) continue;
  if (!only && f.kind === 'long' && !long) {
    skipped.push(`${f.name}: needs --long (${f.what})`);
    continue;
  }
  const missing = (f.needs ?? []).filter((p) => !existsSync(join(ROOT, p)));
  if (missing.length) {
    skipped.push(`${f.name}: its stored runs are missing (${missing.join(', ')}); trained by ${f.trainings}`);
    continue;
  }
  console.log(`\n== ${f.name}: ${f.what}`);
  const t0 = Date.now();
  let ok = true;
  for (const cmd of f.steps) {
    console.log(`$ ${show(cmd)}`);
    const r = spawnSync(cmd[0], cmd.slice(1), { cwd: ROOT, stdio: ['inherit', 'inherit', f.emptyWhen ? 'pipe' : 'inherit'], encoding: 'utf8' });
    if (r.stderr) process.stderr.write(r.stderr);
    const nothing = r.status !== 0 && f.emptyWhen && r.stderr?.split('\n').find((l) => f.emptyWhen.test(l));
    if (nothing) {
      skipped.push(`${f.name}: nothing to draw yet (${nothing.trim()}); trained by ${f.trainings}`);
      ok = null;
      break;
    }
    if (r.status !== 0) {
      ok = false;
      break;
    }
  }
  if (ok === null) {
    console.log(`== ${f.name}: skipped, nothing to draw yet`);
    continue;
  }
  if (ok) for (const [from, to] of f.copy) copyFileSync(join(ROOT, from), join(DOCS, to));
  if (!ok) failed.push(f.name);
  console.log(`== ${f.name}: ${ok ? `done in ${Math.round((Date.now() - t0) / 1000)} s` : 'FAILED'}`);
}
if (skipped.length) console.log(`\nskipped:\n  ${skipped.join('\n  ')}`);
console.log(`\nnot made by this script (npm run figures -- --list):\n  ${CANNOT.map(([w]) => w).join('\n  ')}`);
if (failed.length) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exit(1);
}
