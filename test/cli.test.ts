/**
 * The command line's own behaviour, run in this process (test/support/cli.ts: main() in a worker thread,
 * no process start-up per call): bad flags and inputs refused in one line. The binary as a
 * process, whole decompositions and the jobs that train are in test/cli.e2e.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './support/cli.js';
import { tmp } from './support/helpers.js';

test('bad flags, missing files and corrupt inputs: one line on stderr, non-zero exit', async () => {
  const dir = tmp();
  const cases: [string[], RegExp][] = [
    [['train', '--steps', 'ten'], /--steps must be an integer/],
    [['train', '--encoder', 'vgg'], /Allowed choices are resnet18, small/],
    [['experiment', 'table2', '--loss', 'huber'], /Allowed choices are l1, mse/],
    [['frobnicate'], /unknown command/],
    [['decompose', join(dir, 'nope.png'), '--model', join(dir, 'none.stratum')], /none\.stratum: no such checkpoint/],
    [['render', join(dir, 'missing.json')], /missing\.json: no such document/],
    [['decompose', 'samples/bag.png', '--refine', '--budget', 'soon'], /--budget must be a positive duration/],
    [['decompose', 'samples/bag.png', '--refine', '--fit-size', '4096'], /--fit-size must be a whole number from 8 to 1024, got 4096/],
    [['decompose', 'samples/bag.png', '--prune', '-1'], /--prune must be a number ≥ 0/],
    [['decompose', 'samples/bag.png', '--budget', '2s'], /--budget needs --layers \(the time to place them\) or --refine/],
    [['decompose', 'samples/bag.png', '--layers', '20', '--refine'], /--refine, --greedy and --prune work on the model's 10 whole-frame layers/],
    [['decompose', 'samples/bag.png', '--layers', '5000'], /--layers 5000 is too many \(at most 1000\)/],
    [['decompose', 'samples/bag.png', '--layers', '20', '--crisp', '--soft'], /--crisp and --soft: choose one/],
    [['train', '--data', 'folder:/definitely/not/here', '-o', join(dir, 'r')], /no such file or folder/],
  ];
  writeFileSync(join(dir, 'broken.json'), '{"format":"stratum-layers"');
  cases.push([['render', join(dir, 'broken.json')], /broken\.json: not valid JSON/]);
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    assert.match(r.err, re, `${args.join(' ')}: ${r.err}`);
    const lines = r.err.trim().split('\n').filter((l) => !l.startsWith('(run with --help'));
    assert.equal(lines.length, 1, `one-line error for ${args.join(' ')}: ${r.err}`);
  }
});
