/**
 * Renders a contact sheet of embedded CGI hands to docs/contact-sheet.png, for a quick look at what the
 * renderer produces. With the shifted split design (default) the left half shows training hands and the
 * right half test hands drawn with the same seeds, so each test hand sits beside its training twin: same
 * pose, view and background, only the held-out parameters (size, proportions, skin, polish, light, tilt) differ.
 * Usage: ts-node --transpile-only scripts/contact-sheet.ts [--out docs/contact-sheet.png] [--cols 6] [--rows 6]
 *        [--thumb 150] [--seed 0] [--render 300] [--design shifted|iid]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodePng } from '../lib/util/png';
import { derivedSeed } from '../lib/util/random';
import { HAND_POSES, HandDomain, SPLIT_DESIGNS, SplitDesign } from '../lib/data/render/params';
import { renderHand } from '../lib/data/render/hand';
import { boxDownscale } from '../lib/data/render/resample';
import { writeFileAtomic } from '../lib/util/atomic';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const out = arg('out', path.join('docs', 'contact-sheet.png'));
  const cols = Number(arg('cols', '6'));
  const rows = Number(arg('rows', '6'));
  const thumb = Number(arg('thumb', '150'));
  const seed = Number(arg('seed', '0'));
  const render = Number(arg('render', '300'));
  const design = arg('design', 'shifted') as SplitDesign;
  if (!SPLIT_DESIGNS.includes(design)) throw new Error(`--design: expected one of ${SPLIT_DESIGNS.join(', ')}, got ${design}`);
  const shifted = design === 'shifted';
  if (shifted && cols % 2) throw new Error('--cols must be even with --design shifted (train | test halves)');
  const half = shifted ? cols / 2 : cols;
  const gap = 2;
  // A wider gap between the training and the test half.
  const split = shifted ? 12 : 0;
  const W = cols * thumb + (cols + 1) * gap + split;
  const H = rows * thumb + (rows + 1) * gap;
  const sheet = new Uint8Array(W * H * 3).fill(90);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const domain: HandDomain = shifted ? (c < half ? 'train' : 'test') : 'all';
      const k = r * half + (c % half);
      // Columns cycle through the classes so every row shows rock, paper and scissors.
      const pose = HAND_POSES[k % 3];
      const img = boxDownscale(renderHand({ pose, seed: derivedSeed(seed, `sheet/${k}`), size: render, domain }), render, render, thumb, thumb);
      const ox = gap + c * (thumb + gap) + (shifted && c >= half ? split : 0);
      const oy = gap + r * (thumb + gap);
      for (let y = 0; y < thumb; y++) sheet.set(img.subarray(y * thumb * 3, (y + 1) * thumb * 3), ((oy + y) * W + ox) * 3);
    }
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  writeFileAtomic(out, encodePng(sheet, W, H, 3));
  const layout = shifted ? `left ${half} columns training hands, right ${half} test hands with the same seeds` : 'all from the full variety';
  console.log(`wrote ${out} (${W}x${H}, ${cols * rows} images; columns cycle rock, paper, scissors; ${layout})`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
