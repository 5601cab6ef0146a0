/** Shared option parsers and paths of the stratum CLI. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { F32_MAX } from '../core/f32.js';

export { DEFAULT_ENHANCER, DEFAULT_MODEL, PACKAGE_ROOT } from '../io/paths.js';

export function int(name: string, min = 1) {
  return (v: string): number => {
    const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min} in decimal digits, got '${v}'`);
    return n;
  };
}
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** a decimal number (1e-3 style allowed, not hex): > 0, or ≥ 0 with `zero`; finite in float32, where it goes */
export function num(name: string, zero = false) {
  return (v: string): number => {
    const n = DECIMAL.test(v.trim()) && !v.trim().startsWith('-') ? Number(v) : NaN;
    if (!(n <= F32_MAX) || n < 0 || (n === 0 && !zero)) throw new InvalidArgumentError(`${name} must be a ${zero ? 'non-negative' : 'positive'} number${n > F32_MAX ? ` finite in float32 (at most ${F32_MAX})` : ''}, got '${v}'`);
    return n;
  };
}

/** a decimal number in [min, max] (signed; 1e-3 style allowed, not hex, NaN or Infinity) */
export function decimal(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = DECIMAL.test(v.trim()) ? Number(v) : NaN;
    if (!(n >= min && n <= max)) throw new InvalidArgumentError(`${name} must be a decimal number in [${min}, ${max}], got '${v}'`);
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


/**
 * One output convention for every command: `-o, --output PATH` (a file, or the folder of a command
 * that writes several files). The old `--out` spelling still works (oldOutOption), with a notice.
 */
export const outputOpt = (description: string, defaultValue?: string) => new Option('-o, --output <path>', description).default(defaultValue);
export const oldOutOption = () => new Option('--out <path>', 'old spelling of --output').hideHelp();

/** both options added to a command (for commands whose action is attached after the options) */
export function outputOption(cmd: Command, description: string, defaultValue?: string): Command {
  return cmd.addOption(outputOpt(description, defaultValue)).addOption(oldOutOption());
}

/** the output path given by -o/--output or by the old --out (with a notice) */
export function outputOf(cmd: Command): string {
  const o = cmd.opts() as { output?: string; out?: string };
  if (o.out !== undefined) {
    if (cmd.getOptionValueSource('output') === 'cli' && o.output !== o.out) throw new Error(`--out ${o.out} and --output ${o.output} disagree (--out is the old spelling of --output)`);
    process.stderr.write(`stratum: note: --out is now -o/--output (the old spelling still works)\n`);
    return o.out;
  }
  if (o.output === undefined) throw new Error(`${cmd.name()}: -o/--output is required`);
  return o.output;

}

/** a duration: '2s', '500ms', '1.5m' or plain seconds -> milliseconds */
export function duration(name: string) {
  return (v: string): number => {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(v.trim());
    const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60000 : 1000) : NaN;
    if (!(ms > 0)) throw new InvalidArgumentError(`${name} must be a positive duration such as 2s, 500ms or 1.5m`);
    return ms;
  };
}
/** a number ≥ 0 (decimal, as num) */
export function nonNegative(name: string) {
  const parse = num(name, true);
  return (v: string): number => {
    try {
      return parse(v);
    } catch {
      throw new InvalidArgumentError(`${name} must be a number ≥ 0`);
    }
  };
}

/**
 * A command's action that imports its implementation (src/cli/actions/) only when the command runs:
 * a call loads commander, the flags and the one command it runs, not every command's dependencies
 * (tfjs, sharp, training).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function lazy<K extends string>(load: () => Promise<Record<K, (...args: any[]) => Promise<void>>>, name: K): (...args: unknown[]) => Promise<void> {
  return async (...args) => (await load())[name](...args);
}

/** run `f`, its error prefixed with the flag whose value it was */
export function forFlag<T>(flag: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new Error(`${flag}: ${(e as Error).message}`);
  }
}
