/**
 * Export through the real chromium (PNG, SVG), standalone HTML, plotly.js's own schema check of
 * every builder, and what happens without chromium. Needs a chromium (Debian package `chromium`,
 * or $ADVLM_CHROMIUM); the browser is closed at the end so the test process ends.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { pathToFileURL } from 'url';
import { chromiumPath, closeRenderer, displayFigure, figureHtml, figureToPng, lossLineFigure, saveHtml, savePng, saveSvg, validateFigure } from '../src/viz';
import { exampleFigures } from '../src/viz/examples';

after(async () => {
  await closeRenderer();
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-viz-export-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface DecodedPng {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array;
}

/** A minimal PNG decoder (8-bit greyscale/RGB/RGBA, no interlace): enough to look at the pixels. */
function decodePng(buf: Buffer): DecodedPng {
  assert.deepEqual([...buf.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('ascii', pos + 4, pos + 8);
    const body = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8];
      const colourType = body[9];
      assert.equal(depth, 8, 'bit depth');
      assert.equal(body[12], 0, 'not interlaced');
      channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colourType];
      assert.ok(channels, `colour type ${colourType}`);
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  assert.equal(raw.length, height * (stride + 1), 'inflated size matches the header');
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= channels ? px[y * stride + x - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels] : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else assert.equal(filter, 0, `filter type ${filter}`);
      px[y * stride + x] = (v + pred) & 255;
    }
  }
  return { width, height, channels, pixels: px };
}

function colourStats(img: DecodedPng): { distinct: number; nonWhite: number } {
  const seen = new Set<number>();
  let nonWhite = 0;
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    const o = i * img.channels;
    const r = img.pixels[o];
    const g = img.pixels[o + (img.channels >= 3 ? 1 : 0)];
    const b = img.pixels[o + (img.channels >= 3 ? 2 : 0)];
    seen.add((r << 16) | (g << 8) | b);
    if (r < 235 || g < 235 || b < 235) nonWhite++;
  }
  return { distinct: seen.size, nonWhite: nonWhite / n };
}

test('PNG export has the requested size and real content; first and later render times', async (t) => {
  const fig = exampleFigures().trainingCurves;
  const t0 = performance.now();
  const file = await savePng(fig, path.join(tmp, 'sub', 'curves.png'), { width: 640, height: 360 });
  const first = performance.now() - t0;
  const img = decodePng(fs.readFileSync(file));
  assert.equal(img.width, 640);
  assert.equal(img.height, 360);
  const stats = colourStats(img);
  assert.ok(stats.distinct > 20, `only ${stats.distinct} colours: blank image?`);
  assert.ok(stats.nonWhite > 0.01 && stats.nonWhite < 0.9, `non-white fraction ${stats.nonWhite}`);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['curves.png'], 'no temporary file left behind');

  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t1 = performance.now();
    const png = await figureToPng(lossLineFigure([0, 1, 2], [1, 0.5 + i, 2]), { width: 300, height: 200, scale: 2 });
    times.push(performance.now() - t1);
    const small = decodePng(png);
    assert.deepEqual([small.width, small.height], [600, 400], 'scale 2 doubles the pixels');
  }
  t.diagnostic(`PNG render: first figure ${first.toFixed(0)} ms (browser start + plotly.js load), later ${times.map((x) => x.toFixed(0)).join(', ')} ms`);
});

test('plotly.js accepts every attribute of every builder (Plotly.validate) and each one renders', async () => {
  for (const [name, fig] of Object.entries(exampleFigures())) {
    assert.deepEqual(await validateFigure(fig), [], name);
    if (name === 'lossSurface') continue; // WebGL through software rendering: slow, covered by validate
    const img = decodePng(await figureToPng(fig, { width: 400, height: 300 }));
    assert.deepEqual([img.width, img.height], [400, 300], name);
    assert.ok(colourStats(img).distinct > 10, `${name} looks blank`);
  }
  const bad = await validateFigure({ data: [{ type: 'scatter', y: [1], notAnAttribute: 3 }], layout: {} });
  assert.ok(bad.some((i) => i.path === 'notAnAttribute'), 'validate does catch unknown attributes');
});

test('SVG export is an SVG document with the figure in it', async () => {
  const file = await saveSvg(lossLineFigure([0, 1], [1, 2], { title: 'SVG line' }), path.join(tmp, 'line.svg'));
  const svg = fs.readFileSync(file, 'utf8');
  assert.match(svg, /^<svg[\s>]/);
  assert.match(svg, /SVG line/);
  assert.match(svg, /<\/svg>\s*$/);
});

test('HTML export inlines plotly.js (works offline) and carries the figure JSON', async () => {
  const fig = lossLineFigure([0, 1], [1, 2], { title: 'Offline </script> page' });
  const file = await saveHtml(fig, path.join(tmp, 'line.html'));
  const html = fs.readFileSync(file, 'utf8');
  assert.ok(html.length > 3e6, 'plotly.js bundle inlined');
  assert.match(html, /plotly\.js v\d/);
  assert.doesNotMatch(html, /<script[^>]*src=/, 'no external script');
  assert.ok(html.includes('"type":"scatter"') && html.includes('"y":[1,2]') && html.includes('L(x + α d)'), 'figure JSON present');
  assert.ok(html.includes('Offline \\u003c/script\\u003e page'), 'title escaped inside the script');
  assert.equal(html.match(/<\/script>/g)?.length, 2, 'only the two real script elements close');
});

test('the HTML draws the plot in a browser with the network cut off; notebook fragments share one plotly.js', async () => {
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--headless', '--disable-gpu'], handleSIGINT: false });
  try {
    const page = await browser.newPage();
    const requests: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    const file = await saveHtml(lossLineFigure([0, 1, 2], [1, 0, 1], { title: 'Drawn offline' }), path.join(tmp, 'offline.html'));
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('.advlm-plot .main-svg', { timeout: 30_000 });
    assert.match((await page.textContent('.advlm-plot .gtitle')) ?? '', /Drawn offline/);
    assert.deepEqual(requests, [], 'nothing fetched from the network');
    // Two notebook outputs: the first carries plotly.js, the second only its figure.
    const first = figureHtml(lossLineFigure([0, 1], [1, 2]), { plotly: 'inline', fullPage: false, divId: 'one' });
    const second = figureHtml(lossLineFigure([0, 1], [2, 1]), { plotly: 'none', fullPage: false, divId: 'two' });
    await page.setContent(`<!doctype html><html><body>${first}${second}</body></html>`);
    await page.waitForSelector('#one .main-svg', { timeout: 30_000 });
    await page.waitForSelector('#two .main-svg', { timeout: 30_000 });
  } finally {
    await browser.close();
  }
});

test('without chromium: show still sends the plotly JSON (one note), savePng throws a clear error', async () => {
  await closeRenderer();
  const saved = process.env.ADVLM_CHROMIUM;
  process.env.ADVLM_CHROMIUM = path.join(tmp, 'no-such-chromium');
  const file = path.join(os.tmpdir(), 'fake2', 'node_modules', 'tslab', 'dist', 'jupyter.js');
  const sent: { data: Record<string, unknown> }[] = [];
  (require.cache as Record<string, unknown>)[file] = { id: file, filename: file, loaded: true, exports: { lastWriteDisplayData: (c: { data: Record<string, unknown> }) => void sent.push(c) } };
  (globalThis as { __tslab__?: unknown }).__tslab__ = {};
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warnings.push(a.join(' '));
  try {
    await assert.rejects(savePng(lossLineFigure([0, 1], [1, 2]), path.join(tmp, 'x.png')), /ADVLM_CHROMIUM points at .*no-such-chromium, which does not exist/);
    assert.equal(fs.existsSync(path.join(tmp, 'x.png')), false);
    const r1 = await displayFigure(lossLineFigure([0, 1], [1, 2]));
    const r2 = await displayFigure(lossLineFigure([0, 1], [2, 1]));
    assert.deepEqual(Object.keys(sent[0].data), ['application/vnd.plotly.v1+json', 'text/plain']);
    assert.equal(sent.length, 2);
    assert.match(r1.pngError ?? '', /ADVLM_CHROMIUM/);
    assert.ok(r2.pngError);
    assert.equal(warnings.length, 1, 'the explanation is printed once');
    assert.match(warnings[0], /no PNG/);
  } finally {
    console.warn = warn;
    delete (require.cache as Record<string, unknown>)[file];
    delete (globalThis as { __tslab__?: unknown }).__tslab__;
    if (saved === undefined) delete process.env.ADVLM_CHROMIUM;
    else process.env.ADVLM_CHROMIUM = saved;
  }
  // And with chromium back, rendering works again in the same process.
  const img = decodePng(await figureToPng(lossLineFigure([0, 1], [1, 2]), { width: 200, height: 100 }));
  assert.deepEqual([img.width, img.height], [200, 100]);
});
