/**
 * The iterative reconstruction model (the paper's auto-encoder, Fig. 2).
 *
 * For t = 1..T:
 *   feat_t = Encoder([target ‖ canvas_{t−1}])        (6 channels; canvas optionally gradient-stopped;
 *                                                     the target's half of the first convolution is
 *                                                     computed once per image: src/model/encoder.ts)
 *   p_t    = Linear(feat_t)                          K mask parameters
 *   c_t    = sigmoid(Linear(feat_t))                 RGB colour
 *   M_t    = f(x, y, p_t)                            src/core/maskNet.ts
 *   canvas_t = blendLayer(canvas_{t−1}, M_t, c_t)    src/core/blend.ts
 * The loop itself is src/core/layerLoop.ts; this file supplies its `predict` (the first three lines).
 */
import * as tf from '../core/tf.js';
import { MAX_SHAPES } from '../config.js';
import type { ModelConfig } from '../config.js';
import { FusedKernel } from '../core/fused.js';
import { pixelGrid } from '../core/grid.js';
import { layerLoop, type LayerStep, type Predict } from '../core/layerLoop.js';
import { maskNet } from '../core/maskNet.js';
import { ParamStore } from '../core/params.js';
import { mulberry32 } from '../core/random.js';
import { encodeFromStem, encoderFeatures, initEncoder, splitStem, stemConv } from './encoder.js';
import { initLayerHeads, layerHeads } from './heads.js';
import { stopGradient, type Ctx } from './nn.js';
import { makeShapeBank, type ShapeBank } from './shapeSwaps.js';

/** the store's name for the shape bank's parameter vectors [D, K] (non-trainable; src/model/shapeSwaps.ts) */
export const SHAPES_KEY = 'shapes.p';

/**
 * the store's name for the edge shapes' parameter vectors [E, K] (non-trainable): p chosen so that f
 * draws a straight edge, a corner or a stripe on its frame (src/research/train/edgeShapes.ts); placed
 * layers draw from them as well as from the bank (src/model/place.ts)
 */
export const EDGE_SHAPES_KEY = 'shapes.edges';

/** edge shapes a model may hold at most */
export const MAX_EDGE_SHAPES = 256;

/** shapes a bank may hold at most (src/config.ts) */
export { MAX_SHAPES };

/** mask values a bank may render at the model's size (32 MB of masks; 8,192 shapes at 32², 512 at 128²) */
export const MAX_BANK_VALUES = 8192 * 1024;

/** somewhere to keep a bank's rendered masks between processes (src/model/bankCache.ts: on disk, for Node's loadModel) */
export interface BankMaskCache {
  /** the masks, when kept and exactly `values` long */
  get(values: number): Float32Array | null;
  set(masks: Float32Array): void;
}

/**
 * the target's half of the encoder's first convolution, and the canvas's half of its weight
 * (a type alias, not an interface, so that tf.tidy can return it)
 */
export type TargetStem = {
  stem: tf.Tensor4D;
  canvasWeight: tf.Tensor4D;
};

/** one image's T steps at inference: p [T·K], colours [T·3], masks [T·S·S], the final canvas [S·S·3] */
export interface OneImageForward {
  p: Float32Array;
  c: Float32Array;
  masks: Float32Array;
  canvas: Float32Array;
}

/**
 * An optional fused forward for one image at inference (src/backend/nativeDecompose.ts): the same
 * T steps as forward() with inference BatchNorm, or null for a model it does not cover.
 */
export const fusedDecompose = new FusedKernel<(model: Decomposer, target: Float32Array, T: number) => OneImageForward | null>('decomposeOne');

export class Decomposer {
  readonly store = new ParamStore();
  private gridCache: tf.Tensor2D | null = null;
  private bankCache: ShapeBank | null = null;
  /** where shapeBank() looks for the bank's masks before rendering them, and leaves them after (set by loadModel) */
  bankMaskCache: BankMaskCache | null = null;
  /** the same for the bank's logit maps used to place layers (src/model/decomposeFrame.ts placeBankOf) */
  placeBankCache: BankMaskCache | null = null;

  constructor(readonly cfg: ModelConfig, seed = 0) {
    const rng = mulberry32(seed);
    initEncoder(this.store, cfg, 6, rng);
    initLayerHeads(this.store, cfg, this.featureDim, rng);
  }

  get featureDim(): number {
    return encoderFeatures(this.cfg);
  }

  /** the pixel grid of the training size [S·S, 2], kept (the fused forward reads it too) */
  grid(): tf.Tensor2D {
    if (!this.gridCache) this.gridCache = tf.keep(pixelGrid(this.cfg.size, this.cfg.size));
    return this.gridCache;
  }

  /** the target's part of the first convolution: the same at every step, so computed once per image */
  targetStem(target: tf.Tensor4D): TargetStem {
    const [wTarget, canvasWeight] = splitStem(this.store, this.cfg, 3);
    return { stem: stemConv(this.cfg, target, wTarget), canvasWeight };
  }

  /** one step: predict (p_t, c_t) from the target (or its precomputed stem) and the current canvas */
  predictLayer(target: tf.Tensor4D | TargetStem, canvas: tf.Tensor4D, ctx: Ctx): { p: tf.Tensor2D; c: tf.Tensor2D } {
    const ts = target instanceof tf.Tensor ? this.targetStem(target) : target;
    const cin = this.cfg.stopCanvasGrad ? stopGradient(canvas) : canvas;
    const feat = encodeFromStem(this.store, this.cfg, ts.stem.add(stemConv(this.cfg, cin, ts.canvasWeight)), ctx);
    return layerHeads(this.store, feat);
  }

  /** the loop's `predict` for one target: step t runs the encoder with step t's BatchNorm statistics */
  predictor(target: tf.Tensor4D | TargetStem, ctx: Ctx): Predict {
    const ts = target instanceof tf.Tensor ? this.targetStem(target) : target;
    return (canvas, t) => {
      ctx.step = t;
      return this.predictLayer(ts, canvas, ctx);
    };
  }

  /** masks [B, S, S, 1] for parameters p [B, K] on the training grid */
  masks(p: tf.Tensor2D): tf.Tensor4D {
    const S = this.cfg.size;
    return maskNet(this.store, this.cfg.mask, this.grid(), p).masks.reshape([p.shape[0], S, S, 1]);
  }

  /**
   * Run T steps on target [B, S, S, 3] from a black canvas. Returns the final canvas and, if
   * `keep`, every step's (p, c, mask, canvas) — the caller owns them.
   */
  forward(target: tf.Tensor4D, ctx: Ctx, keep = false, T = this.cfg.T): { canvas: tf.Tensor4D; steps: LayerStep[] } {
    const S = this.cfg.size;
    if (target.shape[1] !== S || target.shape[2] !== S || target.shape[3] !== 3) {
      throw new Error(`input must be [B, ${S}, ${S}, 3], got [${target.shape.join(', ')}]`);
    }
    return layerLoop(tf.zeros(target.shape) as tf.Tensor4D, T, this.predictor(target, ctx), (p) => this.masks(p), keep);
  }

  /**
   * The shape bank at the model's size (its masks rendered once from the stored parameter vectors),
   * or null for a model without one.
   */
  shapeBank(): ShapeBank | null {
    if (!this.store.has(SHAPES_KEY)) return null;
    if (!this.bankCache) {
      const pv = this.store.get(SHAPES_KEY);
      const [D, K] = pv.shape as [number, number];
      const p = (pv.dataSync() as Float32Array).slice();
      const S = this.cfg.size, P = S * S;
      let masks = this.bankMaskCache?.get(D * P) ?? null;
      if (!masks) {
        masks = new Float32Array(D * P);
        // in chunks: the mask network's activations for 64 masks at 32² are 32 MB
        for (let d = 0; d < D; d += 64) {
          const n = Math.min(64, D - d);
          const m = tf.tidy(() => this.masks(tf.tensor2d(p.subarray(d * K, (d + n) * K), [n, K])));
          masks.set(m.dataSync() as Float32Array, d * P);
          m.dispose();
        }
        this.bankMaskCache?.set(masks);
      }
      this.bankCache = makeShapeBank(p, K, masks, S);
    }
    return this.bankCache;
  }

  /** give the model a shape bank (parameter vectors [D·K]), or drop it (null) */
  setShapes(p: Float32Array | null): void {
    this.bankCache = null;
    this.bankMaskCache = null; // it belonged to the model file's bank
    this.placeBankCache = null;
    this.store.remove(SHAPES_KEY);
    if (!p) return;
    const K = this.cfg.mask.K, D = p.length / K;
    if (!Number.isInteger(D) || D < 1 || D > MAX_SHAPES) throw new Error(`a shape bank needs 1 to ${MAX_SHAPES} parameter vectors of K=${K}, got ${p.length} values`);
    const S = this.cfg.size;
    if (D * S * S > MAX_BANK_VALUES) throw new Error(`a shape bank of ${D} shapes at ${S}² is too large (at most ${Math.floor(MAX_BANK_VALUES / (S * S))} at this size)`);
    if (!p.every(Number.isFinite)) throw new Error('a shape bank must hold finite numbers');
    this.store.add(SHAPES_KEY, tf.tensor2d(p, [D, K]), false);
  }

  /** the edge shapes' parameter vectors [E·K], or null for a model without them */
  edgeShapes(): Float32Array | null {
    return this.store.has(EDGE_SHAPES_KEY) ? (this.store.get(EDGE_SHAPES_KEY).dataSync() as Float32Array).slice() : null;
  }

  /** give the model edge shapes (parameter vectors [E·K]), or drop them (null) */
  setEdgeShapes(p: Float32Array | null): void {
    this.placeBankCache = null;
    this.store.remove(EDGE_SHAPES_KEY);
    if (!p) return;
    const K = this.cfg.mask.K, E = p.length / K;
    if (!Number.isInteger(E) || E < 1 || E > MAX_EDGE_SHAPES) throw new Error(`edge shapes need 1 to ${MAX_EDGE_SHAPES} parameter vectors of K=${K}, got ${p.length} values`);
    if (!p.every(Number.isFinite)) throw new Error('edge shapes must be finite numbers');
    this.store.add(EDGE_SHAPES_KEY, tf.tensor2d(p, [E, K]), false);
  }

  dispose(): void {
    this.bankCache = null;
    this.store.dispose();
    this.gridCache?.dispose();
    this.gridCache = null;
  }
}
