/**
 * Defaults of the experiments added for issue 24 (Fig. 9 adversarial, Fig. 8 quantize64): a file of
 * constants with no imports, so the CLI's command table can show them without loading tfjs.
 */

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
