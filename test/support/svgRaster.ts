/**
 * Rasterise SVG text the way viewers do: librsvg (through sharp) and Chromium (playwright-core,
 * headless, sRGB, device scale 1). Both return RGB floats in [0, 1], row-major. Used by the export
 * tests and by bench/svg.ts (benchmarks take shared code from test/support/, never the reverse).
 */
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function rasteriseLibrsvg(svg: string): Promise<{ rgb: Float32Array; width: number; height: number }> {
  const { data, info } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { rgb: Float32Array.from(data, (v) => v / 255), width: info.width, height: info.height };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--force-color-profile=srgb', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

export interface ChromiumResult {
  rgb: Float32Array;
  /** what DOMParser made of the text: a parse error, or the layer groups' labels in order */
  parseError: string | null;
  layerLabels: string[];
}

export async function rasteriseChromium(browser: Browser, svg: string, width: number, height: number): Promise<ChromiumResult> {
  const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
  try {
    const parsed = await page.evaluate((text) => {
      const d = new DOMParser().parseFromString(text, 'image/svg+xml');
      const err = d.querySelector('parsererror');
      const INK = 'http://www.inkscape.org/namespaces/inkscape';
      const groups = Array.from(d.documentElement.children).filter((e) => e.localName === 'g' && e.getAttributeNS(INK, 'groupmode') === 'layer');
      return { parseError: err ? (err.textContent ?? 'parse error') : null, layerLabels: groups.map((g) => g.getAttributeNS(INK, 'label') ?? '') };
    }, svg);
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${svg}</body></html>`);
    const png = await page.screenshot({ type: 'png', clip: { x: 0, y: 0, width, height } });
    const raw = await sharp(png).removeAlpha().raw().toBuffer();
    return { rgb: Float32Array.from(raw, (v) => v / 255), ...parsed };
  } finally {
    await page.close();
  }
}
