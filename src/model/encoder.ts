/**
 * The encoder choice shared by the reconstruction model, the baselines and the GAN generator:
 * ResNet-18 (the paper's) or the small CPU encoder, picked by `cfg.encoder`.
 *
 * Both start with a convolution (the stem). A convolution is linear in its input channels, so for
 * the reconstruction model's input [target ‖ canvas]
 *
 *   W * [target ‖ canvas] = W_target * target + W_canvas * canvas
 *
 * and the target half is the same at all T steps: `splitStem` lets the decomposer compute it once
 * per image instead of once per step, and skip the gradient with respect to the target entirely.
 */
import type { EncoderKind, EncoderNorm, SmallPool } from '../config.js';
import type { ParamStore } from '../core/params.js';
import * as tf from '../core/tf.js';
import type { Ctx } from './nn.js';
import { initResNet18, RESNET18_FEATURES, RESNET18_STEM, resNet18From } from './resnet18.js';
import { initSmallEncoder, SMALL_STEM, smallEncoderFrom, smallFeatureSide } from './smallEncoder.js';

export interface EncoderSpec {
  encoder: EncoderKind;
  smallChannels: number[];
  /** BatchNorm (default) or GroupNorm */
  encoderNorm?: EncoderNorm;
  /** the small encoder's pooling (default 'mean'); 'flatten' needs `size` */
  smallPool?: SmallPool;
  /** image side the encoder sees */
  size?: number;
}

export const ENCODER_PREFIX = 'enc';

export function initEncoder(store: ParamStore, spec: EncoderSpec, inCh: number, rng: () => number): void {
  if (spec.encoder === 'resnet18') initResNet18(store, ENCODER_PREFIX, inCh, rng, spec.encoderNorm);
  else initSmallEncoder(store, ENCODER_PREFIX, inCh, spec.smallChannels, rng, spec.encoderNorm);
}

export function encoderFeatures(spec: EncoderSpec): number {
  if (spec.encoder === 'resnet18') return RESNET18_FEATURES;
  const C = spec.smallChannels[spec.smallChannels.length - 1]!;
  if ((spec.smallPool ?? 'mean') === 'mean') return C;
  if (spec.size === undefined) throw new Error("the small encoder's 'flatten' pooling needs the image size");
  return C * smallFeatureSide(spec.size, spec.smallChannels.length) ** 2;
}

function stemOf(spec: EncoderSpec): { name: string; stride: number; pad: number } {
  const s = spec.encoder === 'resnet18' ? RESNET18_STEM : SMALL_STEM;
  return { ...s, name: `${ENCODER_PREFIX}.${s.name}` };
}

function stemWeight(store: ParamStore, spec: EncoderSpec): tf.Tensor4D {
  return store.get(`${stemOf(spec).name}.w`) as tf.Tensor4D;
}

/** the stem convolution of x with weight w (all of the stem's input channels, or a slice of them) */
export function stemConv(spec: EncoderSpec, x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const { stride, pad } = stemOf(spec);
  return tf.conv2d(x, w, stride, pad);
}

/** the stem weight [k, k, inCh, C] cut along its input channels at `at`: [W_a, W_b] */
export function splitStem(store: ParamStore, spec: EncoderSpec, at: number): [tf.Tensor4D, tf.Tensor4D] {
  const w = stemWeight(store, spec);
  // one split (SplitV, a native kernel) rather than two slices: tfjs-cpu's slice of a 4-D tensor
  // along an inner axis copies element by element (≈0.45 ms each for this [3, 3, 6, 32] weight)
  return tf.split(w, [at, w.shape[2] - at], 2) as [tf.Tensor4D, tf.Tensor4D];
}

/** features [B, F] from the stem's output (before its normalisation) */
export function encodeFromStem(store: ParamStore, spec: EncoderSpec, stem: tf.Tensor4D, ctx: Ctx): tf.Tensor2D {
  return spec.encoder === 'resnet18' ? resNet18From(store, ENCODER_PREFIX, stem, ctx) : smallEncoderFrom(store, ENCODER_PREFIX, stem, spec.smallChannels, ctx, spec.smallPool);
}

/** features [B, F] of an image batch [B, H, W, inCh] */
export function encode(store: ParamStore, spec: EncoderSpec, x: tf.Tensor4D, ctx: Ctx): tf.Tensor2D {
  return encodeFromStem(store, spec, stemConv(spec, x, stemWeight(store, spec)), ctx);
}
