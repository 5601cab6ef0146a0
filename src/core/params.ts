/**
 * A named set of tensors (trainable weights and non-trainable state such as BatchNorm running
 * statistics). Everything the model owns lives in one ParamStore so it can be saved, loaded,
 * optimised and disposed as a whole.
 */
import * as tf from './tf.js';

export interface ParamEntry {
  variable: tf.Variable;
  trainable: boolean;
}

export class ParamStore {
  readonly entries = new Map<string, ParamEntry>();

  add(name: string, init: tf.Tensor, trainable = true): tf.Variable {
    if (this.entries.has(name)) throw new Error(`parameter ${name} defined twice`);
    const variable = tf.variable(init, trainable, `${name}_${nextId++}`);
    init.dispose();
    this.entries.set(name, { variable, trainable });
    return variable;
  }

  get(name: string): tf.Variable {
    const e = this.entries.get(name);
    if (!e) throw new Error(`unknown parameter ${name}`);
    return e.variable;
  }

  /** drop one tensor (no-op when absent) */
  remove(name: string): void {
    this.entries.get(name)?.variable.dispose();
    this.entries.delete(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  trainable(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [k, e] of this.entries) if (e.trainable) out.set(k, e.variable);
    return out;
  }

  /** names under a prefix, e.g. 'mask.' */
  names(prefix = ''): string[] {
    return [...this.entries.keys()].filter((k) => k.startsWith(prefix));
  }

  count(trainableOnly = true): number {
    let n = 0;
    for (const e of this.entries.values()) if (!trainableOnly || e.trainable) n += e.variable.size;
    return n;
  }

  dispose(): void {
    for (const e of this.entries.values()) e.variable.dispose();
    this.entries.clear();
  }
}

let nextId = 0;

/** PyTorch's default Linear init: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for weight and bias. */
export function linearInit(fanIn: number, shape: number[], rng: () => number): tf.Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return uniform(shape, -bound, bound, rng);
}

export function uniform(shape: number[], lo: number, hi: number, rng: () => number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = lo + (hi - lo) * rng();
  return tf.tensor(d, shape);
}

export function normal(shape: number[], std: number, rng: () => number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = Math.max(rng(), 1e-12);
    const u2 = rng();
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    d[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) d[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return tf.tensor(d, shape);
}
