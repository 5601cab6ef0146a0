/** Shared option parsers and paths of the stratum CLI. */
import { InvalidArgumentError, Option } from 'commander';

export { DEFAULT_MODEL, PACKAGE_ROOT } from '../io/paths.js';

export function int(name: string, min = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return n;
  };
}
export function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

export function nonNegative(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*[0-9.]+\s*$/.test(v) || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0`);
    return n;
  };
}

export const backendOption = () => new Option('--backend <name>', 'compute backend').choices(['auto', 'native', 'cpu', 'wasm']).default('auto');

export const collect = (v: string, prev: string[]) => [...prev, v];
export const layerIndex = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`bad layer index '${v}' (layers are numbered from 0, bottom first)`);
  return n;
};
export const indexList = (v: string) => v.split(',').map(layerIndex);

