/**
 * The collapse guard of a training run. A run can fall off a cliff (held-out PSNR from 23 to 13 dB,
 * the training loss from 0.08 to 0.28) and never come back; the guard keeps, in memory, the state
 * of the last evaluation that set a new best — weights, BatchNorm statistics, Adam's moments and
 * step — and goes back to it, with the learning rate multiplied by guardLrFactor, when
 *
 *   held-out PSNR < PSNR of that state − guardDrop        (checked at each evaluation), or
 *   EMA₀.₉₅(training loss) > guardLossJump · min EMA      (checked at every step, 100 steps after
 *                                                          a start or rollback)
 *
 * The rate's remaining share (`lrScale`) and the number of rollbacks go into checkpoints, so a
 * resumed run keeps the lowered rate.
 */
import type { TrainConfig } from '../../config.js';
import type { Adam } from '../../core/adam.js';
import * as tf from '../../core/tf.js';
import type { ParamStore } from '../../core/params.js';

interface Snapshot {
  step: number;
  psnr: number;
  vars: Map<string, tf.Tensor>;
  m: Map<string, tf.Tensor>;
  v: Map<string, tf.Tensor>;
  adamStep: number;
}

const LOSS_WARMUP = 100;

export class CollapseGuard {
  lrScale: number;
  rollbacks: number;
  private snap: Snapshot | null = null;
  private ema = NaN;
  private emaMin = Infinity;
  private seen = 0;

  constructor(
    private readonly cfg: Pick<TrainConfig, 'guardDrop' | 'guardLossJump' | 'guardLrFactor'>,
    state: { lrScale?: number; rollbacks?: number } = {},
  ) {
    // (rollbacks only ever lower the rate: a checkpoint's share above 1 is not one this code wrote)
    this.lrScale = Number.isFinite(state.lrScale) && state.lrScale! > 0 && state.lrScale! <= 1 ? state.lrScale! : 1;
    this.rollbacks = Number.isInteger(state.rollbacks) ? state.rollbacks! : 0;
  }

  /** the step and held-out PSNR of the state a rollback returns to */
  get snapshot(): { step: number; psnr: number } | null {
    return this.snap && { step: this.snap.step, psnr: this.snap.psnr };
  }

  /** remember the current state (weights, statistics, optimiser) as the one to return to */
  keep(step: number, psnr: number, store: ParamStore, opt: Adam): void {
    this.dispose();
    const copy = (m: Map<string, tf.Variable>) => new Map([...m].map(([k, t]) => [k, tf.keep(t.clone())] as [string, tf.Tensor]));
    this.snap = {
      step,
      psnr,
      vars: new Map([...store.entries].map(([k, e]) => [k, tf.keep(e.variable.clone())] as [string, tf.Tensor])),
      m: copy(opt.m),
      v: copy(opt.v),
      adamStep: opt.step,
    };
  }

  /** after an evaluation: a new best is kept; a fall of more than guardDrop dB is a collapse (returns why) */
  afterEval(step: number, psnr: number, store: ParamStore, opt: Adam): string | null {
    if (!this.snap || psnr > this.snap.psnr) {
      this.keep(step, psnr, store, opt);
      return null;
    }
    if (this.cfg.guardDrop > 0 && psnr < this.snap.psnr - this.cfg.guardDrop) return `held-out PSNR ${psnr.toFixed(2)} dB, ${(this.snap.psnr - psnr).toFixed(2)} dB below step ${this.snap.step}'s`;
    return null;
  }

  /** after a training step: a sustained jump of the loss is a collapse (returns why) */
  afterStep(loss: number): string | null {
    this.ema = Number.isNaN(this.ema) ? loss : 0.95 * this.ema + 0.05 * loss;
    if (++this.seen < LOSS_WARMUP) return null;
    this.emaMin = Math.min(this.emaMin, this.ema);
    if (this.cfg.guardLossJump > 0 && this.ema > this.cfg.guardLossJump * this.emaMin) return `training L1 average ${this.ema.toFixed(4)}, ${(this.ema / this.emaMin).toFixed(1)}× its lowest (${this.emaMin.toFixed(4)})`;
    return null;
  }

  /** go back to the kept state with a lower learning rate; returns the step gone back to */
  rollback(store: ParamStore, opt: Adam): number {
    const s = this.snap;
    if (!s) throw new Error('collapse guard: no state to roll back to');
    for (const [k, t] of s.vars) if (store.has(k)) store.get(k).assign(t);
    const restore = (into: Map<string, tf.Variable>, from: Map<string, tf.Tensor>) => {
      for (const [k, t] of from) {
        const cur = into.get(k);
        if (cur) cur.assign(t);
        else into.set(k, tf.variable(t.clone(), false));
      }
      for (const [k, cur] of into)
        if (!from.has(k)) {
          cur.dispose();
          into.delete(k);
        }
    };
    restore(opt.m, s.m);
    restore(opt.v, s.v);
    opt.step = s.adamStep;
    this.lrScale *= this.cfg.guardLrFactor;
    this.rollbacks++;
    this.ema = NaN;
    this.emaMin = Infinity;
    this.seen = 0;
    return s.step;
  }

  dispose(): void {
    if (!this.snap) return;
    tf.dispose([...this.snap.vars.values(), ...this.snap.m.values(), ...this.snap.v.values()]);
    this.snap = null;
  }
}
