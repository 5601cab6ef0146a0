/**
 * Every default of the paper (Sbai, Couprie, Aubry, "Vector Image Generation by Learning Parametric
 * Layer Decomposition") lives here, in one place. Other files take these as typed configs.
 */

/** How GroupNorm in the mask MLP gathers its statistics (see src/core/groupNorm.ts). */
export type MaskNorm = 'image' | 'pixel';

export interface MaskNetConfig {
  /** number of mask parameters p per layer */
  K: number;
  /** width of the three hidden layers */
  hidden: number;
  /** number of hidden layers */
  depth: number;
  /** GroupNorm groups */
  groups: number;
  /** 'image': authors' code (1×1 convs: a group is normalised over its channels × all pixels);
   *  'pixel': the paper's table (a group's 4 channels within one pixel). */
  norm: MaskNorm;
}

export const MASK_NET_DEFAULTS: MaskNetConfig = { K: 10, hidden: 128, depth: 3, groups: 32, norm: 'image' };

export type EncoderKind = 'resnet18' | 'small';

export interface ModelConfig {
  mask: MaskNetConfig;
  /** number of layers (steps) */
  T: number;
  /** training image size; also the reference grid for per-image GroupNorm statistics */
  size: number;
  encoder: EncoderKind;
  /** channels of the small CPU encoder's four stride-2 convolutions */
  smallChannels: number[];
  /** feed the canvas to the encoder with gradients stopped (what the authors' code does) */
  stopCanvasGrad: boolean;
}

export const MODEL_DEFAULTS: ModelConfig = {
  mask: MASK_NET_DEFAULTS,
  T: 10,
  size: 32,
  encoder: 'resnet18',
  smallChannels: [32, 64, 64, 64],
  stopCanvasGrad: false,
};

export interface TrainConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  batch: number;
  steps: number;
  /** evaluate held-out PSNR every this many steps */
  evalEvery: number;
  /** write a checkpoint every this many steps */
  saveEvery: number;
  /** number of held-out images */
  holdout: number;
  seed: number;
  /** BatchNorm running-statistics momentum (PyTorch convention) */
  bnMomentum: number;
  /** weight λ of the adversarial (WGAN-GP) term added to L1; 0 = pure L1 */
  advLambda: number;
  /** gradient-penalty weight γ */
  gamma: number;
  /** channels of the patch critic's first convolution */
  criticWidth: number;
}

export const TRAIN_DEFAULTS: TrainConfig = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  batch: 32,
  steps: 10000,
  evalEvery: 200,
  saveEvery: 100,
  holdout: 256,
  seed: 0,
  bnMomentum: 0.1,
  advLambda: 0,
  gamma: 10,
  criticWidth: 64,
};

/** Per-image refinement (src/model/refine.ts, `stratum decompose --refine`). */
export interface RefineConfig {
  /** edge of the grid the target is fitted on (the document still renders at any size) */
  fitSize: number;
  /** most optimisation steps (0: as many as the budget allows) */
  steps: number;
  /** time budget for the optimisation in ms (0: none; then steps must be set) */
  budgetMs: number;
  /** Adam learning rate for the mask parameters p (and colour logits without least squares) */
  lr: number;
  /** colours by least squares given the masks at every step (else Adam on colour logits) */
  leastSquares: boolean;
  /** optimise only the colours */
  coloursOnly: boolean;
  /** fit-size pixels the mask MLP is evaluated on per step (random, a shuffled pass; 0: all) */
  pixels: number;
  /** grid edge for the per-image GroupNorm statistics while optimising (0: the document's reference size, exact) */
  statsSize: number;
  /** what the budget counts: wall time, or this process's CPU time (Node only; benchmarks on a shared machine) */
  clock: 'wall' | 'cpu';
  seed: number;
}

export const REFINE_DEFAULTS: RefineConfig = {
  fitSize: 128,
  steps: 0,
  budgetMs: 2000,
  lr: 0.3,
  leastSquares: true,
  coloursOnly: false,
  pixels: 256,
  statsSize: 8,
  clock: 'wall',
  seed: 0,
};

/** GroupNorm / BatchNorm epsilon (PyTorch default). */
export const NORM_EPS = 1e-5;

/** Tile edge (pixels) used when rendering large images, so a 4096² render stays within memory. */
export const RENDER_TILE = 256;

export function modelConfig(over: Partial<Omit<ModelConfig, 'mask'>> & { mask?: Partial<MaskNetConfig> } = {}): ModelConfig {
  return { ...MODEL_DEFAULTS, ...over, mask: { ...MASK_NET_DEFAULTS, ...(over.mask ?? {}) } };
}
