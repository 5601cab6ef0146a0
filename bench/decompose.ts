/**
 * npm run bench:decompose — milliseconds to decompose one photo at the model's size, with the
 * fused native forward (src/backend/nativeDecompose.ts) and with the tfjs definition, alternating
 * in one process (medians of --reps runs each, --rounds times), plus the fused call alone.
 *
 *   npm run bench:decompose -- --model models/default.stratum --reps 60 --rounds 3
 */
import { Command } from 'commander';
import { useBackend, type BackendName } from '../src/backend/index.js';
import { loadPhotoSources, wholePhotos } from '../src/research/data/photos.js';
import { loadModel } from '../src/model/checkpoint.js';
import { decomposeImage } from '../src/model/decomposeImage.js';
import { fusedDecompose } from '../src/model/decomposer.js';

const o = new Command()
  .option('--model <file>', 'model file', 'models/default.stratum')
  .option('--reps <n>', 'decompositions per measurement', '60')
  .option('--rounds <n>', 'alternating rounds', '3')
  .option('--backend <name>', 'backend', 'native')
  .parse()
  .opts<{ model: string; reps: string; rounds: string; backend: string }>();
await useBackend(o.backend as BackendName);
const { model } = loadModel(o.model);
const S = model.cfg.size;
const photos = wholePhotos(await loadPhotoSources('test', S), S, { skipUniform: true });
const rgb = photos.data.subarray(0, S * S * 3);
const reps = Number(o.reps);
const median = (f: () => void): number => {
  for (let i = 0; i < 5; i++) f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return ts.sort((a, b) => a - b)[reps >> 1]!;
};
const fused = fusedDecompose.active();
console.log(`decompose at ${S}² (T=${model.cfg.T}, ${photos.names?.[0] ?? 'photo 0'}), median of ${reps}, ${o.backend} backend${fused ? '' : ' (no fused forward on it)'}`);
for (let r = 0; r < Number(o.rounds); r++) {
  fusedDecompose.register(fused ? [o.backend] : [], fused);
  const a = median(() => decomposeImage(model, rgb));
  fusedDecompose.register([], null);
  const b = median(() => decomposeImage(model, rgb));
  console.log(`round ${r + 1}: fused ${a.toFixed(2)} ms, tfjs forward ${b.toFixed(2)} ms`);
}
fusedDecompose.register(fused ? [o.backend] : [], fused);
if (fused) {
  const target = Float32Array.from(rgb, (v) => v / 255);
  console.log(`the fused forward alone: ${median(() => fused(model, target, model.cfg.T)).toFixed(2)} ms`);
}
