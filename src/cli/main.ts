#!/usr/bin/env node
/**
 * stratum — learn, decompose, edit, render, export and generate layered images. One file per
 * command in ./commands registers its flags and help; its work, in ./actions, is imported only
 * when that command runs: `--version`, `--help` and each command load only what they use (not
 * every command's tfjs, sharp and training). Every failure is one line on stderr and a non-zero exit code.
 */
import { Command } from 'commander';
import { register as trainCommand } from './commands/train.js';
import { register as decomposeCommand } from './commands/decompose.js';
import { register as renderCommand } from './commands/render.js';
import { register as evalCommand } from './commands/eval.js';
import { register as shapesCommand } from './commands/shapes.js';
import { register as editCommand } from './commands/edit.js';
import { register as exportCommand } from './commands/export.js';
import { register as ganCommand } from './commands/gan.js';
import { register as sampleCommand } from './commands/sample.js';
import { register as experimentCommand } from './commands/experiment.js';
import { register as serveCommand } from './commands/serve.js';
import { register as exportModelCommand } from './commands/exportModel.js';
import { register as torchCommands } from './commands/torch.js';
import { register as enhanceCommands } from './commands/enhance.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './options.js';
import { oneLine } from './say.js';
export { DEFAULT_MODEL, PACKAGE_ROOT } from './options.js';

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** what every command-line mistake ends with */
const USAGE_HINT = '(run with --help for usage)';
/** longest error line printed (a library's error can be long) */
const MAX_ERROR_CHARS = 2000;

export function buildCli(): Command {
  const program = new Command('stratum')
    .description('Learn to build images out of a few single-colour layers with smooth, resolution-free masks')
    .version(packageVersion(), '-V, --version', 'print the version')
    // commander's own error lines (and its hint on a second line) are printed by main, as one line
    .configureOutput({ outputError: () => undefined })
    .exitOverride();
  for (const register of [trainCommand, decomposeCommand, renderCommand, evalCommand, editCommand, exportCommand, ganCommand, sampleCommand, experimentCommand, serveCommand, exportModelCommand, shapesCommand, torchCommands, enhanceCommands]) register(program);
  return program;
}

/**
 * The command word of `args` when no command has that name (also after `help`), else null.
 * Checked before commander parses: it would show the general help and exit 0 for
 * `stratum nonsense --help` or `stratum help nonsense`.
 */
function unknownCommand(program: Command, args: string[]): string | null {
  const names = new Set(['help', ...program.commands.flatMap((c) => [c.name(), ...c.aliases()])]);
  let i = 0;
  while (i < args.length && ['-h', '--help', '-V', '--version'].includes(args[i]!)) i++;
  const word = args[i];
  // an unknown program option is commander's to report
  if (word === undefined || word.startsWith('-')) return null;
  if (!names.has(word)) return word;
  const topic = args[i + 1];
  return word === 'help' && topic !== undefined && !topic.startsWith('-') && !names.has(topic) ? topic : null;
}

function printError(message: string): void {
  const line = oneLine(message);
  process.stderr.write(`stratum: ${line.length > MAX_ERROR_CHARS ? `${line.slice(0, MAX_ERROR_CHARS)}…` : line}\n`);
}

export async function main(argv = process.argv): Promise<number> {
  const program = buildCli();
  const unknown = unknownCommand(program, argv.slice(2));
  if (unknown !== null) {
    printError(`unknown command '${unknown}' (commands: ${program.commands.map((c) => c.name()).join(', ')}) ${USAGE_HINT}`);
    return 1;
  }
  try {
    await program.parseAsync(argv);
    // a command that finished its work but has something to report (some of many images failed)
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    const err = e as { code?: string; exitCode?: number; message?: string };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
    // the help asked for is 0; the help shown because no command was given is an error (1)
    if (err.code === 'commander.help') return err.exitCode ?? 0;
    if (err.code?.startsWith('commander.')) {
      // commander repeats a refused value in full: a long list would push the reason out of sight
      const message = (err.message ?? '').replace(/^error: /, '').replace(/(argument ')(.*?)(' is invalid\.)/s, (_, a: string, v: string, b: string) => `${a}${v.length > 60 ? `${v.slice(0, 57)}…` : v}${b}`);
      printError(`${message} ${USAGE_HINT}`);
      return err.exitCode || 2;
    }
    printError(err.message ?? String(e));
    return 1;
  }
}
