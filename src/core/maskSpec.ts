/**
 * The mask MLP's parameters in one place (paper eq. 2, src/core/maskNet.ts):
 *
 *   [x, y, p_1..p_K] -> Linear(K+2, H) -> GroupNorm(G, ε) -> tanh -> ... (depth L) -> Linear(H, 1) -> sigmoid
 *
 * One ordered list of (name, shape, initialiser) from which initialisation (initMaskNet), document
 * and model validation (src/core/validate.ts) and the native kernels' weight order
 * (src/backend/nativeMaskNet.ts) are all derived, so the three can never disagree. The order is
 * the native one: l_i.w, l_i.b, gn_i.gamma, gn_i.beta for each hidden layer, then out.w, out.b.
 *
 * The bounds are the ones the native kernels assert too (native/args.h, ParseDims):
 * its per-thread GroupNorm buffers hold at most MAX_GROUPS groups and MAX_HIDDEN channels, and
 * H must split into G equal groups.
 */
import { NORM_EPS, type MaskNetConfig } from '../config.js';

export const MASK_LIMITS = {
  /** mask parameters per layer */
  K: { min: 1, max: 256 },
  /** hidden width (native: per-thread channel buffers) */
  hidden: { min: 1, max: 1024 },
  /** hidden layers */
  depth: { min: 1, max: 16 },
  /** GroupNorm groups (native: per-thread group buffers); must divide hidden */
  groups: { min: 1, max: 256 },
} as const;

/** GroupNorm ε of the mask MLP (PyTorch's default), passed to the native kernels */
export const MASK_EPS = NORM_EPS;

export type MaskInit = 'linear' | 'ones' | 'zeros';

export interface MaskParamSpec {
  name: string;
  shape: number[];
  init: MaskInit;
  /** fan-in of a Linear layer (for its uniform ±1/√fanIn initialisation) */
  fanIn: number;
}

/** every mask-MLP parameter, in the native kernels' order */
export function maskParamSpecs(m: MaskNetConfig): MaskParamSpec[] {
  const out: MaskParamSpec[] = [];
  let fanIn = m.K + 2;
  for (let i = 0; i < m.depth; i++) {
    out.push({ name: `mask.l${i}.w`, shape: [fanIn, m.hidden], init: 'linear', fanIn });
    out.push({ name: `mask.l${i}.b`, shape: [m.hidden], init: 'linear', fanIn });
    out.push({ name: `mask.gn${i}.gamma`, shape: [m.hidden], init: 'ones', fanIn });
    out.push({ name: `mask.gn${i}.beta`, shape: [m.hidden], init: 'zeros', fanIn });
    fanIn = m.hidden;
  }
  out.push({ name: 'mask.out.w', shape: [m.hidden, 1], init: 'linear', fanIn: m.hidden });
  out.push({ name: 'mask.out.b', shape: [1], init: 'linear', fanIn: m.hidden });
  return out;
}

/** the names of maskParamSpecs, in the native order */
export function maskWeightNames(m: MaskNetConfig): string[] {
  return maskParamSpecs(m).map((s) => s.name);
}

/** name -> shape */
export function expectedMaskShapes(m: MaskNetConfig): Record<string, number[]> {
  return Object.fromEntries(maskParamSpecs(m).map((s) => [s.name, s.shape]));
}

/** why `m` is not a usable mask-MLP configuration, or '' when it is */
export function maskConfigProblem(m: unknown): string {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return 'mask configuration must be an object';
  const c = m as Record<string, unknown>;
  for (const [key, { min, max }] of Object.entries(MASK_LIMITS)) {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return `mask.${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`;
  }
  if ((c.hidden as number) % (c.groups as number) !== 0) return `mask.groups ${c.groups} does not divide mask.hidden ${c.hidden}`;
  if (c.norm !== 'image' && c.norm !== 'pixel') return `mask.norm must be 'image' or 'pixel', got ${JSON.stringify(c.norm)}`;
  return '';
}
