/** PNG encoding of raw RGB(A) pixels, for figures, contact sheets and reports. */
import { PNG } from 'pngjs';

/** Encodes `pixels` (RGB or RGBA, row-major, `width*height*channels` bytes) as PNG bytes. */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 3 | 4 = 3): Buffer {
  if (pixels.length !== width * height * channels) {
    throw new Error(`encodePng: expected ${width}x${height}x${channels} = ${width * height * channels} bytes, got ${pixels.length}`);
  }
  const png = new PNG({ width, height, colorType: 6 });
  if (channels === 4) {
    png.data.set(pixels);
  } else {
    for (let i = 0, j = 0; i < width * height; i++, j += 3) {
      png.data[i * 4] = pixels[j];
      png.data[i * 4 + 1] = pixels[j + 1];
      png.data[i * 4 + 2] = pixels[j + 2];
      png.data[i * 4 + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** A `data:image/png;base64,...` URI for inline images in HTML and plotly figures. */
export function pngDataUri(pixels: Uint8Array, width: number, height: number, channels: 3 | 4 = 3): string {
  return `data:image/png;base64,${encodePng(pixels, width, height, channels).toString('base64')}`;
}
