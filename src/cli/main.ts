#!/usr/bin/env node
/**
 * stratum — learn, decompose, edit, render, export and generate layered images. One file per
 * command in ./commands. Every failure is one line on stderr and a non-zero exit code.
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
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './options.js';
export { DEFAULT_MODEL, PACKAGE_ROOT } from './options.js';

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export function buildCli(): Command {
  const program = new Command('stratum')
    .description('Learn to build images out of a few single-colour layers with smooth, resolution-free masks')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of [trainCommand, decomposeCommand, renderCommand, evalCommand, editCommand, exportCommand, ganCommand, sampleCommand, experimentCommand, serveCommand, exportModelCommand, shapesCommand, torchCommands]) register(program);
  return program;
}
export async function main(argv = process.argv): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    const err = e as { code?: string; exitCode?: number; message?: string };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    if (err.code?.startsWith('commander.')) return err.exitCode || 2;
    process.stderr.write(`stratum: ${(err.message ?? String(e)).split('\n')[0]}\n`);
    return 1;
  }
}
