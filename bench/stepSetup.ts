/**
 * What both benchmarks time: one training step (forward, backward, Adam) of the reconstruction
 * model on a random batch. The model options and the setup are shared by bench/train_step.ts and
 * bench/profile_step.ts.
 */
import type { Command } from 'commander';
import { modelConfig, TRAIN_DEFAULTS, type EncoderKind, type MaskNorm, type ModelConfig } from '../src/config.js';
import * as tf from '../src/core/tf.js';
import { Decomposer } from '../src/model/decomposer.js';
import { Adam } from '../src/core/adam.js';
import { trainStep } from '../src/research/train/step.js';

export interface StepOptions {
  batch: string;
  T: string;
  K: string;
  size: string;
  norm: string;
}

export function withStepOptions(cmd: Command): Command {
  return cmd
    .option('--batch <n>', 'batch size', '32')
    .option('--T <n>', 'steps', '10')
    .option('--K <n>', 'mask parameters', '10')
    .option('--size <n>', 'image size', '32')
    .option('--norm <mode>', 'GroupNorm mode image|pixel', 'image');
}

export interface StepBench {
  cfg: ModelConfig;
  /** one training step on the fixed random batch */
  step: () => void;
  dispose: () => void;
}

export function stepBench(o: StepOptions, encoder: EncoderKind): StepBench {
  const cfg = modelConfig({ encoder, T: Number(o.T), size: Number(o.size), mask: { K: Number(o.K), norm: o.norm as MaskNorm } });
  const model = new Decomposer(cfg);
  const opt = new Adam(TRAIN_DEFAULTS);
  const x = tf.randomUniform([Number(o.batch), cfg.size, cfg.size, 3]) as tf.Tensor4D;
  return {
    cfg,
    step: () => void trainStep(model, opt, x),
    dispose: () => {
      x.dispose();
      opt.dispose();
      model.dispose();
    },
  };
}
