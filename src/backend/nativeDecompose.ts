/**
 * One image's decomposition at inference (src/model/decomposer.ts forward, small encoder with
 * BatchNorm) as one native call: for a single image the tfjs definition is ~35 tiny ops per step,
 * and their dispatch was a third of a 32² decomposition. BatchNorm is folded into a per-step scale
 * and shift here (the per-step statistics of src/research/train/calibrate.ts when the model has them, as
 * bn() picks them); test/native.test.ts holds the result equal to the tfjs forward. Which weights
 * it passes, in which order and shape, is the table of src/model/encoderSpec.ts, which the C++
 * side checks its arguments against (native/decompose_spec.h).
 */
import { NORM_EPS } from '../config.js';
import { MASK_EPS, maskWeightNames } from '../core/maskSpec.js';
import { fusedDecompose, type Decomposer, type OneImageForward } from '../model/decomposer.js';
import { encoderBatchNorm, nativeDecomposeDims, nativeEncoderWeights } from '../model/encoderSpec.js';
import type { NativeAddon } from './nativeAddon.js';
import { values } from './tensorValues.js';

export function registerNativeDecompose(n: NativeAddon, backend: string): void {
  function run(model: Decomposer, target: Float32Array, T: number): OneImageForward | null {
    const { cfg, store } = model;
    const chans = cfg.smallChannels;
    const bn = chans.map((_, i) => encoderBatchNorm(i));
    // ResNet-18 and the GroupNorm encoder keep the tfjs definition
    if (cfg.encoder !== 'small' || !bn.every((b) => store.has(b.runMean)) || n.decomposeForward === undefined) return null;
    // every stored weight the kernel reads, there and of the table's shape (a rename on either side fails here, naming it)
    const specs = nativeEncoderWeights(cfg, T);
    for (const w of specs.filter((w) => w.stored)) {
      if (!store.has(w.name)) throw new Error(`native decomposition: the model has no weight ${w.name} (src/model/encoderSpec.ts)`);
      const shape = store.get(w.name).shape;
      if (shape.join() !== w.shape.join()) throw new Error(`native decomposition: weight ${w.name} is [${shape.join(', ')}], src/model/encoderSpec.ts says [${w.shape.join(', ')}]`);
    }
    const S = cfg.size, P = S * S, K = cfg.mask.K;
    const sumC = chans.reduce((a, b) => a + b, 0);
    const scale = new Float32Array(T * sumC);
    const shift = new Float32Array(T * sumC);
    let off = 0;
    bn.forEach((b, i) => {
      const C = chans[i]!;
      const gamma = values(store.get(b.gamma));
      const beta = values(store.get(b.beta));
      const stepped = store.has(b.stepMean);
      const mean = values(store.get(stepped ? b.stepMean : b.runMean));
      const variance = values(store.get(stepped ? b.stepVar : b.runVar));
      const rows = mean.length / C;
      for (let t = 0; t < T; t++) {
        const r = Math.min(t, rows - 1) * C; // bn(): step t uses row min(t, rows − 1)
        for (let c = 0; c < C; c++) {
          const s = gamma[c]! / Math.sqrt(variance[r + c]! + NORM_EPS);
          scale[t * sumC + off + c] = s;
          shift[t * sumC + off + c] = beta[c]! - mean[r + c]! * s;
        }
      }
      off += C;
    });
    const m = cfg.mask;
    const out: OneImageForward = { p: new Float32Array(T * K), c: new Float32Array(T * 3), masks: new Float32Array(T * P), canvas: new Float32Array(P * 3) };
    // the table's order: enc.conv<i>.w, enc.bn.scale, enc.bn.shift, head.p.w, head.p.b, head.c.w, head.c.b
    const w = specs.map((spec) => (spec.stored ? values(store.get(spec.name)) : spec.name.endsWith('.scale') ? scale : shift));
    const nConv = chans.length;
    n.decomposeForward(
      nativeDecomposeDims(cfg, T),
      [1, P, K, m.hidden, m.groups, m.depth, m.norm === 'pixel' ? 1 : 0, 0],
      MASK_EPS,
      target,
      w.slice(0, nConv),
      w[nConv]!,
      w[nConv + 1]!,
      w[nConv + 2]!,
      w[nConv + 3]!,
      w[nConv + 4]!,
      w[nConv + 5]!,
      values(model.grid()),
      maskWeightNames(m).map((k) => values(store.get(k))),
      out.p,
      out.c,
      out.masks,
      out.canvas,
      cfg.smallPool === 'flatten',
    );
    return out;
  }
  fusedDecompose.register([backend], run);
}
