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

/** the encoder's normalisation: BatchNorm (torchvision's ResNet) or GroupNorm (the authors' code) */
export type EncoderNorm = 'batch' | 'group';

/**
 * How the small encoder's last feature map [h, w, C] becomes the feature vector the heads read:
 * 'mean' (global average pooling, C values: the PyTorch reference's) or 'flatten' (h·w·C values:
 * every position's channels, so a head can tell where in the image a feature is).
 */
export type SmallPool = 'mean' | 'flatten';

/** groups of the encoder's GroupNorm */
export const ENCODER_GN_GROUPS = 8;

export interface ModelConfig {
  mask: MaskNetConfig;
  /** number of layers (steps) */
  T: number;
  /** training image size; also the reference grid for per-image GroupNorm statistics */
  size: number;
  encoder: EncoderKind;
  /** channels of the small CPU encoder's four stride-2 convolutions */
  smallChannels: number[];
  /** the small encoder's pooling of its last feature map (absent in older model files: 'mean') */
  smallPool?: SmallPool;
  /** feed the canvas to the encoder with gradients stopped (what the authors' code does) */
  stopCanvasGrad: boolean;
  /** the encoder's normalisation layers */
  encoderNorm: EncoderNorm;
}

export const MODEL_DEFAULTS: ModelConfig = {
  mask: MASK_NET_DEFAULTS,
  T: 10,
  size: 32,
  encoder: 'resnet18',
  smallChannels: [32, 64, 64, 64],
  stopCanvasGrad: false,
  encoderNorm: 'batch',
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
  /** learning-rate schedule: 'constant', or linear warm-up then cosine decay to minLrShare·lr at `steps` */
  schedule: 'constant' | 'cosine';
  /** warm-up steps (linear from lr/warmup to lr); 0 = none */
  warmup: number;
  /** the cosine schedule ends at this share of lr */
  minLrShare: number;
  /** clip the gradient's global L2 norm to this; 0 = no clipping */
  clip: number;
  /**
   * weight of the loss on the image with least-squares colours (src/train/step.ts
   * reconstructionLoss); 0 = the encoder's colours only. With it, held-out evaluation picks the
   * best model by the least-squares PSNR (what decompose paints).
   */
  lsLoss: number;
  /**
   * weight of the mean L1 of every step's canvas I_1 … I_T (the encoder's colours) against the
   * target, added to the loss (src/train/step.ts reconstructionLoss); 0 = the final image only
   */
  stepLoss: number;
  /**
   * weight of a hinge on each mask's coverage, mean_x M_t(x), below COVERAGE_FLOOR (src/train/step.ts
   * reconstructionLoss): a layer whose mask has shrunk to nothing gets a gradient back; 0 = off
   */
  coverageLoss: number;
  /** collapse guard: held-out PSNR this many dB below the best so far rolls back to the best; 0 = off */
  guardDrop: number;
  /** collapse guard: the training loss average rising to this multiple of its lowest rolls back; 0 = off */
  guardLossJump: number;
  /** each rollback multiplies the learning rate by this */
  guardLrFactor: number;
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
  schedule: 'constant',
  warmup: 0,
  minLrShare: 0.05,
  clip: 0,
  lsLoss: 0,
  stepLoss: 0,
  coverageLoss: 0,
  guardDrop: 2,
  guardLossJump: 2,
  guardLrFactor: 0.5,
};

/** held-out images at most: this share of a data set (the rest trains), see heldOutSplit */
export const HOLDOUT_MAX_SHARE = 1 / 5;

/** BatchNorm calibration (src/train/calibrate.ts): training batches measured per evaluation */
export const CALIBRATION_BATCHES = 8;

/** WGAN-GP (src/train/wgan.ts): the paper's GAN optimiser and the penalty of Gulrajani et al. */
export const WGAN_DEFAULTS = { gamma: 10, criticSteps: 5, lr: 2e-4, beta1: 0, beta2: 0.9, eps: 1e-8 };

/** the GAN run (stratum gan); generator T, K, size from MODEL_DEFAULTS */
/** criticMbstd: the critic's minibatch-sd group size (0: off, as every GAN run until 6 Dec; research/model/critic.ts) */
export const GAN_DEFAULTS = { steps: 2000, batch: 32, noise: 32, criticWidth: 64, criticMbstd: 0, saveEvery: 100, encoder: 'small' as EncoderKind };

/**
 * the enhancer (Fig. 6, stratum train-enhancer / enhance): U-Net width and depth, training crop size,
 * Adam (pix2pix's lr 2e-4, β1 0.5), the adversarial weight λ (the patch critic's gradient has norm ≈ 1
 * per image, L1's 1/√(3·64²) = 1/111, so λ = 0.005 makes them pull about equally at 64²: measured, that
 * cost 3 dB held out in 200 steps; λ = 0.0005 leaves L1 in charge and the critic a correction), held-out
 * pairs scored during training, and the bundled enhancer's file (models/)
 */
export const ENHANCE_DEFAULTS = { width: 16, depth: 3, size: 64, steps: 1500, batch: 8, lr: 2e-4, beta1: 0.5, lambda: 0.0005, criticWidth: 32, saveEvery: 100, evalEvery: 100, evalImages: 128, train: 'photos:1200', test: 'photos-test:200', file: 'enhancer.stratum' };

/**
 * the paper's tables (src/research/experiments): training steps per row, held-out images shown side
 * by side; the training row's state written every saveEvery steps (a killed run resumes from it); its
 * held-out PSNR on the first evalImages held-out images every evalEvery steps (the curves)
 */
export const EXPERIMENT_DEFAULTS = { steps: 1000, show: 8, encoder: 'small' as EncoderKind, saveEvery: 100, evalEvery: 250, evalImages: 64 };

/** document export (stratum export, the library's export): pixel size, SVG mask threshold */
export const EXPORT_DEFAULTS = { size: 1024, threshold: 0.5 };

/** Per-image refinement (src/model/refine.ts, `stratum decompose --refine`). */
export interface RefineConfig {
  /** edge of the grid the target is fitted on (the document still renders at any size) */
  fitSize: number;
  /** most optimisation steps (0: as many as the budget allows) */
  steps: number;
  /** time budget for the optimisation in ms (0: none; then steps must be set) */
  budgetMs: number;
  /**
   * Adam learning rate for the mask parameters p (and colour logits without least squares).
   * 0.1: on 12 held-out photos (CPU-second budgets) 0.3 -> 0.1 gave +1.1 dB at 32² (10 layers
   * 0.5 s; 20 layers 1 s), +0.85 at 64² (2 s), +0.4 at 128² (10 s); 0.05–0.15 within 0.3 dB
   */
  lr: number;
  /**
   * learning rate at the end of the run as a share of lr, cosine from lr over the steps or the
   * budget, whichever ends first (1: constant)
   */
  lrFinal: number;
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
  lr: 0.1,
  lrFinal: 0.05,
  leastSquares: true,
  coloursOnly: false,
  pixels: 128,
  statsSize: 4,
  clock: 'wall',
  seed: 0,
};

/** GroupNorm / BatchNorm epsilon (PyTorch default). */
export const NORM_EPS = 1e-5;

/** Tile edge (pixels) used when rendering large images, so a 4096² render stays within memory. */
export const RENDER_TILE = 256;

/**
 * Edge-adaptive rendering (src/core/adaptive.ts): the mask MLP runs on a coarse lattice and only
 * refines where bilinear interpolation misses by more than `tol`.
 */
export interface AdaptiveRenderConfig {
  /** interpolation tolerance on each mask (the rendered RGB stays within 1/255 of the dense render) */
  tol: number;
  /** largest coarse lattice stride in pixels (power of 2); the stride is also ≤ output size / (2 · reference size) */
  maxCoarse: number;
  /** tile edge in pixels when every layer's mask is kept (a full-size mask per layer per tile) */
  tile: number;
  /** tile edge when only the image is wanted (one quadtree for the stack; memory ≈ 5 bytes × layers per pixel of a tile) */
  compositeTile: number;
}
export const ADAPTIVE_RENDER_DEFAULTS: AdaptiveRenderConfig = { tol: 2e-3, maxCoarse: 64, tile: 512, compositeTile: 1024 };

export function modelConfig(over: Partial<Omit<ModelConfig, 'mask'>> & { mask?: Partial<MaskNetConfig> } = {}): ModelConfig {
  return { ...MODEL_DEFAULTS, ...over, mask: { ...MASK_NET_DEFAULTS, ...(over.mask ?? {}) } };
}

/** the largest image sharp writes (its default pixel limit, 0x3FFF²) */
export const MAX_IMAGE_PIXELS = 0x3fff * 0x3fff;

/** PSNR below which a layer counts as near-useless (issue 8: "contribute less than 0.1 dB") */
export const NEAR_USELESS_DB = 0.1;

/** mask coverage (share of the image) under which --coverage-loss pushes a mask back up */
export const COVERAGE_FLOOR = 0.02;

/**
 * Greedy placed layers (src/model/place.ts): random candidates and hill-climbing mutations per
 * layer, the smallest half-extent in fit-size pixels, the largest logit gain, the side of the
 * bank's logit maps, how many bank shapes are used for placing, and about how many pixels a
 * candidate is scored on (the coarsest pyramid level with at least that many in its box), and
 * the long side of the grid the placed layers are fitted on, and the most layers a decomposition may ask for.
 * crispGain: with `crisp`, every layer's logit gain is at least this (the encoder's whole-frame layers get
 * exactly it): a region with an anti-aliased edge instead of a wash (docs/photos.md "Crisp layers").
 * crisp: whether a decomposition with placed layers is crisp unless told (with edge shapes crisp layers
 * are within 0.5 dB of soft ones at a third of the soft share: docs/results.md).
 * refine*: after the search, every placed layer refined jointly by gradient (src/model/placeRefine.ts) for
 * refineSteps Adam steps, or under a budget for its last refineShare of the time (at most refineMaxSteps),
 * on the fit grid halved refineHalvings times (docs/photos.md "Placed layers refined jointly").
 * dropDb: with placed layers to come, the encoder's whole-frame layers worth less than this (dB lost
 * without them on the fit grid) give their place to placed layers.
 * edgeShare: the share of candidate shapes drawn from the model's edge shapes (straight edges, corners,
 * stripes: src/research/train/edgeShapes.ts) when it has them (docs/photos.md "Edge shapes").
 */
export const PLACE_DEFAULTS = { candidates: 64, mutations: 96, minPixels: 1.5, minGain: 0.3, maxGain: 32, maxScale: 0.6, bankSide: 40, bankShapes: 512, scorePixels: 1024, fitSize: 256, maxLayers: 1000, crispGain: 8, refineSteps: 40, refineMaxSteps: 400, refineShare: 0.3, refineHalvings: 1, dropDb: 0.5, edgeShare: 0.4, crisp: true };

/** the long side an input image is read at (larger photos are reduced first): the fit grid and the encoder's square come from it */
export const MAX_INPUT_SIDE = 2048;

/**
 * After the forward pass (src/model/decomposeImage.ts): without a shape bank, the order search
 * keeps at most this many moves (on the 104 whole held-out photos at 32², 4 moves give 19.975 dB
 * against 19.982 with up to T, 19.896 in the encoder's order, for 4.5 ms instead of 6 ms per image);
 * with a bank, the shape swaps (src/model/shapeSwaps.ts): at most maxSwaps swaps of layers worth less
 * than db dB, the weakest `candidates` layers scored against the bank each round.
 */
export const MAX_MOVES = 4;
export const SWAP_DEFAULTS = { maxSwaps: 8, db: 1, candidates: 3 };

/** shapes a model's bank may hold at most (the default bank of 1,024 is 40 KB in the model file; its masks at 32², 4 MB in memory) */
export const MAX_SHAPES = 8192;

/** `stratum shapes` (src/train/chooseShapeBank.ts): bank size, images whose layers form the pool, a pool layer's least worth (dB), shapes tried while counting usage, seed */
export const SHAPE_BANK_DEFAULTS = { count: 1024, poolImages: 1500, minDb: 0.3, candidates: 6000, seed: 777 };

/** SVG export (src/export/svg.ts): mask levels ('auto': the fewest reaching targetPsnr dB against the render), the one-level threshold, Douglas–Peucker tolerance in pixels */
export const SVG_DEFAULTS = { levels: 'auto' as const, targetPsnr: 32, threshold: 0.5, simplify: 0.3 };

/**
 * The browser editor (web/): the time it gives placed layers by default, and the refinement fit
 * sizes it offers (plus the image's own short side when smaller; its default is
 * REFINE_DEFAULTS.fitSize, and its refinement budget REFINE_DEFAULTS.budgetMs)
 */
export const EDITOR_DEFAULTS = { placeBudgetMs: 2000, fitSizes: [64, 128, 256] };

/** the formats `stratum export` and exportDocument write (src/export/exportDocument.ts), by file extension */
export const EXPORT_FORMATS = ['png', 'psd', 'ora', 'svg'] as const;

/** `stratum experiment adversarial` and `quantize64` (issue 24; src/research/experiments) */
/** Fig. 9: L1 + λ·WGAN-GP at 10 and 20 masks; sized to run in about 20 minutes on a shared 2-core CPU */
export const ADVERSARIAL_DEFAULTS = {
  data: 'fashion-mnist',
  steps: 120,
  batch: 8,
  lambdas: [0, 0.01, 0.1, 1],
  Ts: [10, 20],
  criticWidth: 32,
  holdout: 128,
};

/** Fig. 8: a 64², 20-mask model (small encoder) against 20-colour quantisation; about 10–15 minutes of training here */
export const QUANTIZE64_DEFAULTS = {
  data: 'photos:2000:0.8:0.8',
  size: 64,
  T: 20,
  steps: 100,
  batch: 8,
  holdout: 64,
  colours: 20,
};

/**
 * KID (src/research/eval/kid.ts): subsets per estimate and images per side of each; `stratum
 * experiment kid`: the held-out reference set and the samples drawn per GAN (also the size of each
 * calibration set)
 */
export const KID_DEFAULTS = { subsets: 10, subsetSize: 100, seed: 0 };
export const KID_EXPERIMENT_DEFAULTS = { real: 'photos-test:512', n: 500 };
