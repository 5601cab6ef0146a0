// npm test: alone (it holds decompose to its --budget in wall-clock time)
// The whole frame through the command line (issue 22): a 3:1 photo decomposes into exactly N layers
// in about --budget (the binary, a process of its own), renders, edits and exports at its own
// aspect (in this process, test/support/cli.ts), and an edit inside a layer's mask lands where that layer is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { frameAspect, placedBox } from '../src/core/placement.js';
import { validateDocument } from '../src/core/document.js';
import { binary, cli } from './support/cli.js';
import { tmp } from './support/helpers.js';

const env = () => ({ STRATUM_CACHE: join(dir, 'cache') });
/** the binary, as a user runs it */
const asProcess = (...args: string[]) => binary(args, { env: env() });
/** the command in this process, without a start-up per call */
const stratum = (...args: string[]) => cli(args, { env: env() });
const dir = tmp();
const W = 360, H = 120;

async function landscape(path: string): Promise<Uint8Array> {
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const k = 3 * (y * W + x);
    const disc = (x - 250) ** 2 + (y - 60) ** 2 < 35 ** 2;
    rgb.set(disc ? [20, 30, 90] : [210, 200 - Math.round(y / 3), 150], k);
  }
  await sharp(Buffer.from(rgb), { raw: { width: W, height: H, channels: 3 } }).png().toFile(path);
  return rgb;
}

test('decompose --layers N --budget on a 3:1 photo: N layers on its frame in about the budget; render, edit --image and export keep the aspect', { timeout: 600_000 }, async () => {
  const img = join(dir, 'wide.png');
  const rgb = await landscape(img);
  const out = join(dir, 'out');
  const r = asProcess('decompose', img, '-o', out, '--layers', '30', '--budget', '1.5s', '--size', '300');
  assert.equal(r.code, 0, r.err);
  const said = /30 layers, (\d+) placed layers in [\d.]+ s; PSNR [\d.]+ dB at 300×100 \(the written render against the input\), soft share (\d+)% at 512/.exec(r.out);
  assert.ok(said, r.out);
  // the encoder's layers worth < 0.5 dB give their place: at least N − T placed; crisp by default
  assert.ok(Number(said[1]) >= 20 && Number(said[1]) <= 30, r.out);
  assert.ok(Number(said[2]) <= 30, `soft share ${said[2]} %`);
  const doc = validateDocument(JSON.parse(readFileSync(join(out, 'wide.stratum.json'), 'utf8')));
  assert.equal(doc.layers.length, 30);
  assert.deepEqual(doc.frame, { width: W, height: H });
  // the budget is kept within 10 % (the bank's maps and the model are start-up, outside it)
  const seconds = doc.source!.seconds as number;
  assert.ok(seconds <= 1.1 * 1.5 + 0.3, `decomposition took ${seconds} s for a 1.5 s budget`);
  assert.ok(seconds >= 0.5 * 1.5, `decomposition took ${seconds} s: the budget was not used`);
  const meta = await sharp(join(out, 'wide.png')).metadata();
  assert.deepEqual([meta.width, meta.height], [300, 100]);
  // render: --size is the long side, --width alone keeps the frame
  const png = join(dir, 'r.png');
  assert.equal((await stratum('render', join(out, 'wide.stratum.json'), '--width', '600', '-o', png)).code, 0);
  const m2 = await sharp(png).metadata();
  assert.deepEqual([m2.width, m2.height], [600, 200]);
  // edit --image: brighten inside the placed layer that is worth most; nothing changes outside its box
  const t = doc.layers.reduce((b, l, i) => (l.place && (l.contributionDb ?? 0) > (doc.layers[b]!.place ? doc.layers[b]!.contributionDb ?? 0 : -1) ? i : b), 0);
  assert.ok(doc.layers[t]!.place, 'a placed layer');
  const edited = join(dir, 'bright.png');
  const e = await stratum('edit', join(out, 'wide.stratum.json'), '--image', img, '--brighten', `${t}:0.8`, '--png', edited);
  assert.equal(e.code, 0, e.err);
  const got = await sharp(edited).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([got.info.width, got.info.height], [W, H]);
  const [x0, x1, y0, y1] = placedBox(doc.layers[t]!.place!, frameAspect(doc.frame));
  let inside = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const cx = (2 * x + 1) / W - 1, cy = (2 * y + 1) / H - 1;
    const k = 3 * (y * W + x);
    const changed = Math.abs(got.data[k]! - rgb[k]!) + Math.abs(got.data[k + 1]! - rgb[k + 1]!) + Math.abs(got.data[k + 2]! - rgb[k + 2]!) > 1;
    const within = cx >= x0 - 0.01 && cx <= x1 + 0.01 && cy >= y0 - 0.01 && cy <= y1 + 0.01;
    if (changed) assert.ok(within, `pixel (${x}, ${y}) changed outside layer ${t}'s box`);
    if (changed) inside++;
  }
  assert.ok(inside > 0, 'the edit changed the layer');
  // exports at the frame's aspect
  for (const ext of ['png', 'svg', 'psd', 'ora']) {
    const f = join(dir, `x.${ext}`);
    const x = await stratum('export', join(out, 'wide.stratum.json'), '-o', f, '--size', '240');
    assert.equal(x.code, 0, x.err);
    assert.match(x.out, new RegExp(`\\(${ext}, 240×80, `), 'the report gives the size written');
    assert.ok(existsSync(f));
    if (ext === 'png' || ext === 'svg') {
      const m = await sharp(f).metadata();
      assert.deepEqual([m.width, m.height], [240, 80], ext);
    }
  }
});
