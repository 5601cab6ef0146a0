/**
 * Merges run folders of `stratum experiment table1|table2` into one (src/research/experiments/
 * mergeRuns.ts): rows trained side by side in two folders, or a run folder back into the copy kept
 * in data/, so that the next run, or `npm run figures`, reads every row from one place.
 *
 *   node --import tsx scripts/merge-table-runs.ts DEST SRC [SRC ...]
 */
import { mergeTableRuns } from '../src/research/experiments/mergeRuns.js';

const [dest, ...sources] = process.argv.slice(2);
if (!dest || !sources.length) {
  console.error('usage: merge-table-runs.ts DEST SRC [SRC ...]');
  process.exit(2);
}
try {
  const r = mergeTableRuns(dest, sources);
  console.log(`${dest}: ${r.rows} finished row(s) added, ${r.curves} row curve(s) and ${r.states} training state(s) taken from ${sources.join(', ')}`);
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
