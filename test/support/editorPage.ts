/**
 * The browser side of test/web.e2e.test.ts: one editor server and one Chromium (playwright-core)
 * for the file, a fresh page per test, and what the tests read from a page.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { serveEditor } from '../../src/cli/serve.js';
import type { LayeredDocument } from '../../src/core/document.js';
import { onBackend, tmp } from './helpers.js';

export const ROOT = join(import.meta.dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = process.env.STRATUM_SCREENSHOT_DIR ? join(ROOT, process.env.STRATUM_SCREENSHOT_DIR) : tmp('stratum-editor-shots-');

/** a screenshot of the page as a small palette PNG */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const png = await page.screenshot();
  await sharp(png).png({ palette: true, colours: 128, effort: 10 }).toFile(join(SHOTS, name));
}

/** the view's pixels as RGBA bytes */
export const viewPixels = (page: Page) =>
  page.evaluate(() => {
    const c = document.getElementById('view') as HTMLCanvasElement;
    return { width: c.width, height: c.height, data: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data) };
  });

/**
 * One server and one browser for this file's tests, each test on a fresh page of it: the model's
 * shape bank and maps for placing, rendered by the first decomposition, are kept in the origin's
 * IndexedDB (web/bankStore.ts), so later tests do not render them again (a server per test was an
 * origin per test, where each test's page rendered them: 20-40 s in WebAssembly)
 */
let server: Server;
let context: BrowserContext;
/** registers the file's before/after hooks: the server and the browser */
export function useEditorBrowser(): void {
  before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium`);
  await onBackend('fast');
  server = await serveEditor(ROOT, 0);
  context = await chromium.launchPersistentContext(tmp('stratum-chromium-'), {
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-gpu'],
  });
  });
  after(async () => {
    await context?.close();
    server?.close();
  });
}

/** a new page of the file's browser, and the editor's address */
export async function newEditorPage(): Promise<{ page: Page; url: string }> {
  return { page: await context.newPage(), url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** the editor served from web-dist/ (npm run build:web) in a fresh page; page errors fail the test */
export async function withEditor(size: number, f: (page: Page) => Promise<void>): Promise<void> {
  const port = (server.address() as AddressInfo).port;
  const page = await context.newPage();
  try {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/?size=${size}`);
    await page.waitForSelector('body[data-status="ready"]', { timeout: 60_000 });
    await f(page);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
}

export const editorDocument = (page: Page) => page.evaluate(() => (window as unknown as { stratum: { document(): unknown } }).stratum.document()) as Promise<LayeredDocument>;

/** what the layer list shows: each layer's colour and contribution */
export const layerList = (page: Page) => page.locator('#layers li').evaluateAll((lis) => lis.map((li) => `${(li.querySelector('input.colour') as HTMLInputElement).value} ${li.querySelector('.contribution')!.textContent}`));

/**
 * A start the refinement can improve (refinement keeps the better of start and end, so from a good
 * start it may honestly return it): every layer's colour replaced by its complement, in the list.
 */
export async function invertColours(page: Page): Promise<void> {
  const n = await page.locator('#layers li').count();
  for (let i = 0; i < n; i++) {
    await page.locator(`#layers li[data-index="${i}"] input.colour`).evaluate((el) => {
      const input = el as HTMLInputElement;
      input.value = `#${(Number.parseInt(input.value.slice(1), 16) ^ 0xffffff).toString(16).padStart(6, '0')}`;
      // as a colour picker does: input while choosing, change when closed (the list is rebuilt)
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
  }
}

export async function decomposeSample(page: Page, sample: string): Promise<void> {
  await page.setInputFiles('#file', join(ROOT, 'samples', sample));
  await page.waitForSelector('body[data-status="done"]', { timeout: 180_000 });
}

