/**
 * Writes data/photos.manifest.json: the photo corpus behind the `photos:` data spec, from these
 * Debian packages only (other image packages are kept for independent evaluation):
 *
 *   wallpapers  mate-backgrounds ukui-wallpapers gnome-backgrounds sway-backgrounds
 *               lomiri-wallpapers lomiri-wallpapers-16.04 lomiri-wallpapers-20.04
 *   stamps      tuxpaint-stamps-default (photographs cut out with alpha; the clip-art 'symbols'
 *               category is left out)
 *
 * The split is by source photo, never by crop: identical files (by SHA-256) and the variants of one
 * design (sourceGroup: resolutions, orientations, light/dark, a stamp's `_mirror` copy) form one group, and a group is held out when the hash of its key falls in the
 * lowest HOLDOUT_PERCENT of its kind. Run: node --import tsx scripts/photo-manifest.ts
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/io/atomicFile.js';
import { PHOTO_PACKAGES, HOLDOUT_PERCENT, type PhotoEntry, type PhotoManifest, groupHeldOut, sourceGroup } from '../src/research/data/photos.js';

const entries: PhotoEntry[] = [];
const byHash = new Map<string, PhotoEntry>();
for (const [pkg, kind] of PHOTO_PACKAGES) {
  const files = execFileSync('dpkg', ['-L', pkg], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .filter((f) => kind === 'wallpaper' || !f.includes('/stamps/symbols/'))
    .sort();
  for (const path of files) {
    const bytes = readFileSync(path);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const dup = byHash.get(sha256);
    const group = dup ? dup.group : sourceGroup(path);
    const e: PhotoEntry = { path, package: pkg, kind, bytes: bytes.length, sha256, group, split: groupHeldOut(group, kind) ? 'test' : 'train' };
    if (dup) continue; // same content already listed (under another package or name)
    byHash.set(sha256, e);
    entries.push(e);
  }
}
const manifest: PhotoManifest = { version: 1, holdoutPercent: HOLDOUT_PERCENT, entries };
const out = join(import.meta.dirname, '..', 'data', 'photos.manifest.json');
writeFileAtomic(out, [Buffer.from(JSON.stringify(manifest, null, 0).replace(/\},\{/g, '},\n{') + '\n')]);
const count = (k: string, s: string) => entries.filter((e) => e.kind === k && e.split === s).length;
console.log(`${out}: ${entries.length} files; wallpapers ${count('wallpaper', 'train')} train / ${count('wallpaper', 'test')} held out; stamps ${count('stamp', 'train')} train / ${count('stamp', 'test')} held out`);
