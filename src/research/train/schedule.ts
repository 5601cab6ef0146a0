/**
 * Learning rate at step n (1-based) of a run of N steps:
 *
 *   constant:  lr · scale
 *   cosine:    lr · scale · min(1, n / W) · (m + (1 − m) · ½(1 + cos(π · (n − W) / (N − W))))   for n > W
 *
 * W warm-up steps, m = minLrShare. `scale` is what the collapse guard has left of the rate
 * (halved at each rollback); it is saved in checkpoints so a resumed run keeps it.
 */
import type { TrainConfig } from '../../config.js';
import { cosineShare } from '../../core/adam.js';

export function learningRate(cfg: Pick<TrainConfig, 'lr' | 'schedule' | 'warmup' | 'minLrShare' | 'steps'>, step: number, scale = 1): number {
  const warm = cfg.warmup > 0 ? Math.min(1, step / cfg.warmup) : 1;
  if (cfg.schedule === 'constant') return cfg.lr * scale * warm;
  const span = Math.max(1, cfg.steps - cfg.warmup);
  const t = Math.min(1, Math.max(0, (step - cfg.warmup) / span));
  return cfg.lr * scale * warm * cosineShare(t, cfg.minLrShare);
}
