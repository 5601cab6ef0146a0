/**
 * The critic side of adversarial training, used by the GAN and by reconstruction with
 * L1 + λ·WGAN-GP: a patch critic and its own Adam, saved in a checkpoint next to the model as the
 * critic's parameters ('critic.*'), its optimiser's moments ('adamD.m.*', 'adamD.v.*') and, in the
 * header's info, the critic's width, its minibatch-sd group size (when on) and optimiser step.
 */
import type { Checkpoint } from '../../model/checkpointFormat.js';
import { PatchCritic } from '../model/critic.js';
import type * as tf from '../../core/tf.js';
import { Adam } from '../../core/adam.js';
import { optimiserTensors, restoreOptimiser, restoreStore, storeTensors } from '../../model/checkpoint.js';
import { WGAN_DEFAULTS } from '../../config.js';

export const CRITIC_OPTIMISER_PREFIX = 'adamD.';

export interface Adversary {
  critic: PatchCritic;
  opt: Adam;
}

/** a fresh critic for `size`² images and its Adam (WGAN-GP's β1 0, β2 0.9); mbstd: its minibatch-sd group size (0: off) */
export function newAdversary(size: number, width: number, seed: number, lr: number = WGAN_DEFAULTS.lr, mbstd = 0): Adversary {
  return { critic: new PatchCritic({ size, width, ...(mbstd ? { mbstd } : {}) }, seed), opt: new Adam({ lr, beta1: WGAN_DEFAULTS.beta1, beta2: WGAN_DEFAULTS.beta2, eps: WGAN_DEFAULTS.eps }) };
}

/** what saveCheckpoint needs to hold the adversary: extra tensors and header info */
export function adversaryState(a: Adversary): { extra: [string, tf.Tensor][]; info: Record<string, unknown> } {
  return {
    extra: [...storeTensors(a.critic.store), ...optimiserTensors(a.opt, CRITIC_OPTIMISER_PREFIX)],
    info: { criticWidth: a.critic.cfg.width, criticAdamStep: a.opt.step, ...(a.critic.cfg.mbstd ? { criticMbstd: a.critic.cfg.mbstd } : {}) },
  };
}

/**
 * The adversary saved in a checkpoint, or null when it holds none (an L1-only run). `width` is
 * used when the checkpoint does not say; `size` (the critic's image size) is the model's unless given.
 * The minibatch-sd group size is the checkpoint's (absent: off), whatever a resumed run asks for.
 */
export function restoreAdversary(ck: Checkpoint, path: string, seed: number, width: number, lr?: number, size = ck.header.model.size): Adversary | null {
  if (![...ck.tensors.keys()].some((k) => k.startsWith('critic.'))) return null;
  const info = ck.header.info ?? {};
  const w = Number(info.criticWidth ?? width);
  if (!Number.isInteger(w) || w < 1 || w > 4096) throw new Error(`${path}: info.criticWidth must be an integer in [1, 4096]`);
  const step = Number(info.criticAdamStep ?? info.optDStep ?? 0);
  if (!Number.isSafeInteger(step) || step < 0) throw new Error(`${path}: info.criticAdamStep must be an integer ≥ 0`);
  const mbstd = Number(info.criticMbstd ?? 0);
  if (!Number.isInteger(mbstd) || mbstd < 0 || mbstd > 1024) throw new Error(`${path}: info.criticMbstd must be an integer in [0, 1024]`);
  const a = newAdversary(size, w, seed, lr, mbstd);
  restoreStore(a.critic.store, ck.tensors, path);
  // GAN checkpoints written before the adversary had one format kept the step as optDStep
  restoreOptimiser(a.opt, ck.tensors, CRITIC_OPTIMISER_PREFIX, step);
  return a;
}

export function disposeAdversary(a: Adversary | null): void {
  a?.opt.dispose();
  a?.critic.dispose();
}
