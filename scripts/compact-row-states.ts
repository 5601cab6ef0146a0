/**
 * Keeps large table-row training states between sessions (scripts/tables-cpu.sh keep): every state
 * in DIR over OVER MB (default 20) is replaced by its compact copy (weights in bf16, no Adam
 * moments; src/research/experiments/rowState.ts), and one still over LIMIT MB (default 25) is
 * deleted, so its row restarts. DIR is a kept copy (data/tables-SET/rows), never a run folder.
 *
 *   node --import tsx scripts/compact-row-states.ts DIR [OVER [LIMIT]]
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compactRowState } from '../src/research/experiments/rowState.js';

const [dir, overArg = '20', limitArg = '25'] = process.argv.slice(2);
const [over, limit] = [Number(overArg), Number(limitArg)];
if (!dir || !(over > 0) || !(limit > 0)) {
  console.error('usage: compact-row-states.ts DIR [OVER_MB [LIMIT_MB]]');
  process.exit(2);
}
const MB = 1024 * 1024;
try {
  for (const f of existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.safetensors')) : []) {
    const path = join(dir, f);
    if (statSync(path).size <= over * MB) continue;
    const { before, after } = compactRowState(path, path);
    if (after > limit * MB) {
      rmSync(path);
      console.log(`not kept (its compact copy, ${(after / MB).toFixed(1)} MB, is over ${limit} MB; the row restarts): ${path}`);
    } else console.log(`kept compact (weights in bf16, Adam's moments dropped: ${(before / MB).toFixed(1)} → ${(after / MB).toFixed(1)} MB): ${path}`);
  }
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
