/**
 * The weights of the small encoder and the heads that the native fused decomposition reads
 * (src/backend/nativeDecompose.ts → native/decompose.cc), in one table, as src/core/maskSpec.ts
 * is for the mask MLP:
 *
 *   enc.conv<i>.w  [3, 3, C_{i−1} (6 for the stem: target ‖ canvas), C_i]   the convolutions
 *   enc.bn.scale, enc.bn.shift  [T, ΣC]   BatchNorm folded per step from enc.bn<i> (encoderBatchNorm)
 *   head.p.w [F, K], head.p.b [K], head.c.w [F, 3], head.c.b [3]           the heads (F: features)
 *
 * in the order of decomposeForward's arguments. The C++ side has the same table
 * (native/decompose_spec.h); the addon reports it (decomposeSpec), the loader refuses an addon
 * whose table differs (src/backend/nativeAddon.ts, with a one-line error naming the weight), and
 * test/encoderSpec.test.ts holds the two equal and the model's parameter store to the table.
 */
import type { ModelConfig } from '../config.js';
import { ENCODER_PREFIX } from './encoder.js';
import { smallFeatureSide } from './smallEncoder.js';

/** the configuration the table depends on */
export type EncoderSpecConfig = Pick<ModelConfig, 'size' | 'smallChannels' | 'smallPool'> & { mask: Pick<ModelConfig['mask'], 'K'> };

export interface EncoderWeightSpec {
  name: string;
  shape: number[];
  /** true: the tensor of that name in the model's parameter store; false: computed from it (folded BatchNorm) */
  stored: boolean;
}

/** input channels of the stem: the target and the canvas, RGB each */
export const STEM_CHANNELS = 6;

/** the BatchNorm tensors of the small encoder's layer i (src/model/nn.ts addBn; step statistics from src/research/train/calibrate.ts) */
export function encoderBatchNorm(i: number): { gamma: string; beta: string; runMean: string; runVar: string; stepMean: string; stepVar: string } {
  const b = `${ENCODER_PREFIX}.bn${i}`;
  return { gamma: `${b}.gamma`, beta: `${b}.beta`, runMean: `${b}.runMean`, runVar: `${b}.runVar`, stepMean: `${b}.stepMean`, stepVar: `${b}.stepVar` };
}

/** features the heads read: the last map's channels, times its positions when flattened */
function featureCount(cfg: EncoderSpecConfig): number {
  const chans = cfg.smallChannels;
  const C = chans[chans.length - 1]!;
  return cfg.smallPool === 'flatten' ? C * smallFeatureSide(cfg.size, chans.length) ** 2 : C;
}

/** every weight the native fused decomposition of T steps reads, in its argument order */
export function nativeEncoderWeights(cfg: EncoderSpecConfig, T: number): EncoderWeightSpec[] {
  const chans = cfg.smallChannels;
  const sumC = chans.reduce((a, b) => a + b, 0);
  const F = featureCount(cfg);
  const K = cfg.mask.K;
  return [
    ...chans.map((c, i) => ({ name: `${ENCODER_PREFIX}.conv${i}.w`, shape: [3, 3, i === 0 ? STEM_CHANNELS : chans[i - 1]!, c], stored: true })),
    { name: `${ENCODER_PREFIX}.bn.scale`, shape: [T, sumC], stored: false },
    { name: `${ENCODER_PREFIX}.bn.shift`, shape: [T, sumC], stored: false },
    { name: 'head.p.w', shape: [F, K], stored: true },
    { name: 'head.p.b', shape: [K], stored: true },
    { name: 'head.c.w', shape: [F, 3], stored: true },
    { name: 'head.c.b', shape: [3], stored: true },
  ];
}

/** the dims argument of decomposeForward and decomposeSpec: [S, T, K, n, C_0..C_{n−1}] */
export function nativeDecomposeDims(cfg: EncoderSpecConfig, T: number): number[] {
  return [cfg.size, T, cfg.mask.K, cfg.smallChannels.length, ...cfg.smallChannels];
}

/**
 * '' when the addon's table (decomposeSpec's [name, shape] rows) is this one, else one line naming
 * the first weight that differs
 */
export function encoderSpecDrift(native: [string, number[]][], ts: EncoderWeightSpec[]): string {
  const show = (name: string | undefined, shape: number[] | undefined) => (name === undefined ? 'nothing' : `'${name}' [${shape!.join(', ')}]`);
  for (let i = 0; i < Math.max(native.length, ts.length); i++) {
    const [name, shape] = native[i] ?? [];
    const want = ts[i];
    if (name !== want?.name || JSON.stringify(shape) !== JSON.stringify(want?.shape)) {
      return `the addon's fused decomposition reads ${show(name, shape)} as weight ${i} where src/model/encoderSpec.ts has ${show(want?.name, want?.shape)}`;
    }
  }
  return '';
}
