/** Shared option parsers and paths of the stratum CLI. */
import { InvalidArgumentError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), existsSync(resolve(dirname(fileURLToPath(import.meta.url)), '../../package.json')) ? '../..' : '../../..');
export const DEFAULT_MODEL = join(PACKAGE_ROOT, 'models', 'default.stratum');

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

export const backendOption = () => new Option('--backend <name>', 'compute backend').choices(['auto', 'native', 'cpu', 'wasm']).default('auto');

export const collect = (v: string, prev: string[]) => [...prev, v];
export const layerIndex = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`bad layer index '${v}' (layers are numbered from 0, bottom first)`);
  return n;
};
export const indexList = (v: string) => v.split(',').map(layerIndex);


/** a duration: '2s', '500ms', '1.5m' or plain seconds -> milliseconds */
export function duration(name: string) {
  return (v: string): number => {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(v.trim());
    const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60000 : 1000) : NaN;
    if (!(ms > 0)) throw new InvalidArgumentError(`${name} must be a positive duration such as 2s, 500ms or 1.5m`);
    return ms;
  };
}
/** a number ≥ 0 */
export function nonNegative(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0`);
    return n;
  };
}
