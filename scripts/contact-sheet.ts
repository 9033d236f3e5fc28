/**
 * Renders a contact sheet of embedded CGI hands (all classes, many skin tones, left and right hands)
 * to docs/contact-sheet.png, for a quick look at what the renderer produces.
 * Usage: ts-node --transpile-only scripts/contact-sheet.ts [--out docs/contact-sheet.png] [--cols 6] [--rows 6] [--thumb 150] [--seed 0]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodePng } from '../lib/util/png';
import { derivedSeed } from '../lib/util/random';
import { HAND_POSES } from '../lib/data/render/params';
import { renderHand } from '../lib/data/render/hand';
import { writeFileAtomic } from '../lib/util/atomic';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** Area-averaging downscale of an RGB square image by an integer-free ratio. */
function downscale(src: Uint8Array, from: number, to: number): Uint8Array {
  const out = new Uint8Array(to * to * 3);
  const r = from / to;
  for (let y = 0; y < to; y++) {
    for (let x = 0; x < to; x++) {
      const acc = [0, 0, 0];
      let cnt = 0;
      for (let sy = Math.floor(y * r); sy < Math.min(from, Math.ceil((y + 1) * r)); sy++) {
        for (let sx = Math.floor(x * r); sx < Math.min(from, Math.ceil((x + 1) * r)); sx++) {
          const o = (sy * from + sx) * 3;
          acc[0] += src[o]; acc[1] += src[o + 1]; acc[2] += src[o + 2];
          cnt++;
        }
      }
      for (let c = 0; c < 3; c++) out[(y * to + x) * 3 + c] = Math.round(acc[c] / cnt);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const out = arg('out', path.join('docs', 'contact-sheet.png'));
  const cols = Number(arg('cols', '6'));
  const rows = Number(arg('rows', '6'));
  const thumb = Number(arg('thumb', '150'));
  const seed = Number(arg('seed', '0'));
  const render = Number(arg('render', '300'));
  const gap = 2;
  const W = cols * thumb + (cols + 1) * gap;
  const H = rows * thumb + (rows + 1) * gap;
  const sheet = new Uint8Array(W * H * 3).fill(90);
  for (let i = 0; i < cols * rows; i++) {
    // Columns cycle through the classes so every row shows rock, paper and scissors.
    const pose = HAND_POSES[i % 3];
    const img = downscale(renderHand({ pose, seed: derivedSeed(seed, `sheet/${i}`), size: render }), render, thumb);
    const ox = gap + (i % cols) * (thumb + gap);
    const oy = gap + Math.floor(i / cols) * (thumb + gap);
    for (let y = 0; y < thumb; y++) sheet.set(img.subarray(y * thumb * 3, (y + 1) * thumb * 3), ((oy + y) * W + ox) * 3);
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  writeFileAtomic(out, encodePng(sheet, W, H, 3));
  console.log(`wrote ${out} (${W}x${H}, ${cols * rows} images; columns cycle rock, paper, scissors)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
