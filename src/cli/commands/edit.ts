/** stratum edit: its flags and help; the work is src/cli/actions/edit.ts, imported only when the command runs */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseColour, type RGB } from '../../edit/edits.js';
import { F32_MAX, isF32 } from '../../core/f32.js';
import { int, backendOption, collect, decimal, layerIndex, outputOpt, oldOutOption, lazy } from '../options.js';

/** most steps of a --k list (a strip of 256² renders side by side stays under the PNG writer's 16,383 pixels) */
export const MAX_JITTER_STEPS = 60;
/** 'i:x' -> layer i and the number x, both checked, naming `flag` */
function layerAmount(flag: string, min: number, max: number) {
  return (v: string): { i: number; amount: number } => {
    const m = /^\s*(\d+)\s*:(.*)$/.exec(v);
    if (!m) throw new InvalidArgumentError(`${flag} takes LAYER:AMOUNT, got '${v}'`);
    return { i: Number(m[1]), amount: decimal(`${flag} amount`, min, max)(m[2]!) };
  };
}

/** 'i:colour[:strength]' */
function tintSpec(v: string): { i: number; colour: RGB; strength: number } {
  const m = /^\s*(\d+)\s*:([^:]*)(?::(.*))?$/.exec(v);
  if (!m) throw new InvalidArgumentError(`--tint takes LAYER:COLOUR[:STRENGTH], got '${v}'`);
  let colour: RGB;
  try {
    colour = parseColour(m[2]!);
  } catch (e) {
    throw new InvalidArgumentError(`--tint: ${(e as Error).message}`);
  }
  return { i: Number(m[1]), colour, strength: m[3] === undefined ? 0.5 : decimal('--tint strength', 0, 1)(m[3]) };
}

/** the --k list: 1..MAX_JITTER_STEPS decimal numbers, each finite in float32 (p + k·q is computed in float32) */
function jitterSteps(v: string): number[] {
  const parts = v.split(',');
  if (parts.length > MAX_JITTER_STEPS) throw new InvalidArgumentError(`--k lists ${parts.length} steps; at most ${MAX_JITTER_STEPS}`);
  return parts.map((k) => {
    const n = decimal('--k', -Infinity, Infinity)(k);
    if (!isF32(n)) throw new InvalidArgumentError(`--k value '${k.trim()}' is not finite in float32 (|k| ≤ ${F32_MAX})`);
    return n;
  });
}


/** a comma-separated list of layer indices, naming the flag */
function indices(flag: string) {
  return (v: string): number[] =>
    v.split(',').map((s) => {
      try {
        return layerIndex(s);
      } catch (e) {
        throw new InvalidArgumentError(`${flag}: ${(e as Error).message}`);
      }
    });
}

/** one layer index, naming the flag */
function oneIndex(flag: string) {
  return (v: string): number => {
    const list = indices(flag)(v);
    if (list.length !== 1) throw new InvalidArgumentError(`${flag} takes one layer index, got '${v}'`);
    return list[0]!;
  };
}

export function register(program: Command): void {
  program
    .command('edit')
    .description('edit a layered document: recolour, hide/show, move, remove layers; jitter mask parameters; brighten/darken/tint an image inside a layer\'s mask')
    .argument('<doc>', 'layered document (.stratum.json)')
    .option('--recolour <i=colour>', 'layer i gets a new colour (#rrggbb or r,g,b); repeatable', collect, [])
    .option('--hide <list>', 'hide layers (comma-separated indices)', indices('--hide'))
    .option('--show <list>', 'show layers', indices('--show'))
    .option('--move <from:to>', 'move a layer to another position (0 = bottom); repeatable', collect, [])
    .option('--remove <list>', 'remove layers (e.g. every layer of an object)', indices('--remove'))
    .option('--png <file>', 'render the result (or the adjusted image with --brighten/--tint) to this PNG')
    .option('--size <n>', 'render size', int('--size'), 512)
    .option('--jitter <i>', 'write a strip of renders with layer i\'s parameters moved to p + k·q along a random unit direction q', oneIndex('--jitter'))
    .addOption(new Option('--k <list>', `jitter steps k (at most ${MAX_JITTER_STEPS})`).argParser(jitterSteps).default([-3, -2, -1, 0, 1, 2, 3], '-3,-2,-1,0,1,2,3'))
    .option('--seed <n>', 'seed of the random direction q', int('--seed', 0), 0)
    .option('--strip <file>', 'jitter strip PNG', 'jitter.png')
    .option('--image <file>', 'original image for --brighten / --tint')
    .option('--brighten <i:amount>', 'brighten (amount > 0, at most 100) or darken (≥ −1) the --image inside layer i\'s mask', layerAmount('--brighten', -1, 100))
    .option('--tint <i:colour:strength>', 'tint the --image towards a colour inside layer i\'s mask (strength in [0, 1], default 0.5)', tintSpec)
    .addOption(backendOption())
    .addOption(outputOpt('write the edited document here'))
    .addOption(oldOutOption())
    .action(lazy(() => import('../actions/edit.js'), 'runEdit'));
}
