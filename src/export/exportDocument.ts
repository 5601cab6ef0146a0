/**
 * A layered document written as a file, the format named by the file's extension (or given):
 * png (the render at any size), psd and ora (one layer per mask over black), svg (one named group
 * of stepped-opacity iso-contours per layer). The one place both `stratum export` and the library's export go through.
 */
import { EXPORT_FORMATS } from '../config.js';
import { extname } from 'node:path';
import { EXPORT_DEFAULTS } from '../config.js';
import { frameSize, renderDocument, type LayeredDocument } from '../core/document.js';
import { writePng } from '../data/images.js';
import { layerRasters } from './layerImages.js';
import { writeOraFile } from './ora.js';
import { writePsdFile } from './psd.js';
import { writeSvgFile } from './svg.js';

export { EXPORT_FORMATS };
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  /** default: from the file's extension */
  format?: ExportFormat;
  /** width and height in pixels */
  size?: number;
  /** SVG: the mask threshold of a single hard contour (levels 1), in (0, 1) */
  threshold?: number;
  /** SVG: mask levels per layer (nested iso-contours), or 'auto' (default: the fewest that reach 32 dB against the render) */
  levels?: number | 'auto';
}

/** the format of `path` (or `format`), or a one-line error naming the file */
export function exportFormat(path: string, format?: string): ExportFormat {
  const fmt = (format ?? extname(path).slice(1)).toLowerCase();
  if (!(EXPORT_FORMATS as readonly string[]).includes(fmt)) throw new Error(`${path}: unsupported export format '${fmt || extname(path)}' (${EXPORT_FORMATS.join(', ')})`);
  return fmt as ExportFormat;
}

export async function exportDocument(doc: LayeredDocument, path: string, o: ExportOptions = {}): Promise<ExportFormat> {
  const fmt = exportFormat(path, o.format);
  const size = o.size ?? EXPORT_DEFAULTS.size;
  const threshold = o.threshold ?? EXPORT_DEFAULTS.threshold;
  if (!Number.isInteger(size) || size <= 0) throw new Error(`${path}: export size must be a positive integer, got ${size}`);
  if (!(threshold > 0 && threshold < 1)) throw new Error(`${path}: SVG threshold must lie in (0, 1), got ${threshold}`);
  // --size is the long side: a document keeps its frame's aspect
  const [w, h] = frameSize(doc, size);
  if (fmt === 'png') await writePng(path, w, h, renderDocument(doc, w, h).rgb);
  else {
    const r = layerRasters(doc, w, h);
    if (fmt === 'psd') writePsdFile(path, r);
    else if (fmt === 'ora') await writeOraFile(path, r);
    else writeSvgFile(path, r, { levels: o.levels, threshold });
  }
  return fmt;
}
