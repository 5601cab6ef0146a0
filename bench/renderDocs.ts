/**
 * The documents bench:render and the SVG measurements use: the bundled model's decompositions of
 * the bundled samples and of photos from /usr/share/backgrounds (where installed), and one
 * synthetic document (test/support/documents.ts: a randomly initialised mask MLP with random p:
 * sharper, busier masks), and the Fashion-MNIST model's decomposition of the ankle boot
 * ("ankle-boot.fashion": that model's masks are sharp, mean spatial std 0.42 against 0.08 for the
 * photo model's soft washes, so it is the document where the MLP's work has to follow edges).
 */
import { existsSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { LayeredDocument } from '../src/core/document.js';
import { readImageSquare } from '../src/data/images.js';
import { decomposeImage } from '../src/model/decomposeImage.js';
import { loadModel } from '../src/model/checkpoint.js';
import { syntheticDocument } from '../test/support/documents.js';

export const SAMPLE_IMAGES = ['samples/ankle-boot.png', 'samples/bag.png', 'samples/sneaker.png'];
export const PHOTOS = ['/usr/share/backgrounds/Dragonfly_by_Bolly.jpg', '/usr/share/backgrounds/goldfish.png'];

/** [name, document] pairs; images that are not installed are skipped */
export async function benchDocuments(images = [...SAMPLE_IMAGES, ...PHOTOS], model = 'models/default.stratum'): Promise<[string, LayeredDocument][]> {
  const { model: m } = loadModel(model);
  const out: [string, LayeredDocument][] = [];
  for (const path of images) {
    if (!existsSync(path)) {
      console.error(`skipping ${path} (not installed)`);
      continue;
    }
    const rgb = await readImageSquare(path, m.cfg.size);
    out.push([basename(path, extname(path)), decomposeImage(m, rgb, { source: { image: join(path) } }).doc]);
  }
  m.store.dispose();
  const sharp = 'models/fashion-mnist.stratum';
  if (images.includes(SAMPLE_IMAGES[0]!) && existsSync(sharp)) {
    const { model: f } = loadModel(sharp);
    out.push(['ankle-boot.fashion', decomposeImage(f, await readImageSquare(SAMPLE_IMAGES[0]!, f.cfg.size), { source: { image: SAMPLE_IMAGES[0] } }).doc]);
    f.store.dispose();
  }
  out.push(['synthetic', syntheticDocument()]);
  return out;
}
