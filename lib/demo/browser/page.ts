/**
 * The demo page's script (bundled by lib/demo/assets.ts): loads the saved classifier with TensorFlow.js (WebGL,
 * else wasm, else cpu; `?backend=` forces one) and classifies an image file or live camera frames. Every image
 * goes through the training pipeline's own resize (lib/data/resize.ts) and the same scaling as `predictImage`,
 * so the probabilities are the ones the library computes for the same file with one view (`tta: 1`): a live
 * camera frame has no time for test-time augmentation.
 *
 * For tests and scripts the page reports on its elements: `body[data-state]` is loading, ready or error,
 * `body[data-backend]` the backend; each bar chart's `data-probabilities` holds the last probabilities (JSON, in
 * class order), `data-updates` how often it was drawn, and `#image-bars[data-file]` the file they belong to.
 */
import { resizeRgbaOnWhite } from '../../data/resize';
import { MODEL_DIR, TFJS_DIR } from './paths';

type LayersModel = import('@tensorflow/tfjs').LayersModel;
// The global of tfjs' script tag; the wasm backend's script adds `tf.wasm`.
declare const tf: typeof import('@tensorflow/tfjs') & { wasm?: { setWasmPaths(prefix: string): void } };

/** What the page reads of the classifier's metadata.json (written by `saveClassifier`). */
interface Metadata {
  classes: string[];
  inputSize: number;
  pixelRange: [number, number];
  base: string;
}

/** Backends in the order they are tried. */
const BACKENDS = ['webgl', 'wasm', 'cpu'] as const;

interface Rgba {
  data: Uint8Array;
  width: number;
  height: number;
}

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo page: element #${id} is missing`);
  return el as T;
}

function showError(message: string): void {
  const el = byId('error');
  el.textContent = message;
  el.hidden = false;
}

async function startBackend(forced: string | null): Promise<string> {
  tf.wasm?.setWasmPaths(new URL(`${TFJS_DIR}/`, location.href).href);
  const tried: string[] = [];
  for (const name of forced ? [forced] : BACKENDS) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
      tried.push(`${name}: unavailable`);
    } catch (err) {
      tried.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start (${tried.join('; ')})`);
}

async function fetchMetadata(): Promise<Metadata> {
  const url = `${MODEL_DIR}/metadata.json`;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const m = (await res.json()) as Metadata;
  if (!Array.isArray(m.classes) || !Number.isInteger(m.inputSize) || !Array.isArray(m.pixelRange)) {
    throw new Error(`${url}: expected classes, inputSize and pixelRange (a classifier saved by saveClassifier)`);
  }
  return m;
}

/** One bar per class; `show` draws probabilities and records them on the element. */
function barChart(container: HTMLElement, classes: string[]): { show(probs: number[]): void } {
  const rows = classes.map((name) => {
    const row = document.createElement('div');
    row.className = 'bar';
    row.dataset.class = name;
    const label = document.createElement('span');
    label.textContent = name;
    const track = document.createElement('span');
    track.className = 'track';
    const fill = document.createElement('span');
    fill.className = 'fill';
    fill.style.display = 'block';
    track.append(fill);
    const value = document.createElement('span');
    value.className = 'value';
    row.append(label, track, value);
    container.append(row);
    return { row, fill, value };
  });
  let updates = 0;
  return {
    show(probs) {
      const top = probs.indexOf(Math.max(...probs));
      rows.forEach((r, i) => {
        r.fill.style.width = `${(probs[i] * 100).toFixed(1)}%`;
        r.value.textContent = probs[i].toFixed(3);
        r.row.classList.toggle('top', i === top);
      });
      container.dataset.probabilities = JSON.stringify(probs);
      container.dataset.updates = String(++updates);
    },
  };
}

/**
 * Probabilities for an RGBA image of any size: resized onto white to the input size as in training, then scaled
 * to the pixel range with the same tensor ops, in the same order, as `rgbToInputTensor` (lib/model/predict.ts).
 */
function classify(model: LayersModel, meta: Metadata, img: Rgba): number[] {
  const size = meta.inputSize;
  const [lo, hi] = meta.pixelRange;
  const rgb = resizeRgbaOnWhite(img.data, img.width, img.height, size, size);
  return tf.tidy(() => {
    const x = tf.tensor4d(rgb, [1, size, size, 3], 'int32').toFloat().mul((hi - lo) / 255).add(lo);
    return Array.from((model.predict(x) as ReturnType<typeof tf.tensor>).dataSync());
  });
}

/** Draws `source` at its own size and reads its RGBA bytes. */
function readPixels(source: CanvasImageSource, width: number, height: number, canvas: HTMLCanvasElement): Rgba {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2D canvas');
  ctx.drawImage(source, 0, 0);
  const d = ctx.getImageData(0, 0, width, height).data;
  return { data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength), width, height };
}

/**
 * The RGBA bytes of an unpremultiplied bitmap, exactly: uploaded to a WebGL texture as they are and read back.
 * A 2D canvas would store them premultiplied by alpha and lose precision wherever alpha is below 255. Undefined
 * without WebGL 2.
 */
function readBitmapExactly(bitmap: ImageBitmap): Rgba | undefined {
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
  if (!gl) return undefined;
  const { width, height } = bitmap;
  const texture = gl.createTexture();
  const framebuffer = gl.createFramebuffer();
  try {
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) return undefined;
    const data = new Uint8Array(width * height * 4);
    // Row 0 of the texture is the image's top row, and readPixels starts there.
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, data);
    return gl.getError() === gl.NO_ERROR ? { data, width, height } : undefined;
  } finally {
    gl.deleteFramebuffer(framebuffer);
    gl.deleteTexture(texture);
    gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}

/** Decodes an image file with the browser's decoder: no colour management, alpha kept as it is in the file. */
async function decodeFile(file: File, canvas: HTMLCanvasElement): Promise<Rgba> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch (err) {
    throw new Error(`cannot decode image ${file.name}: ${(err as Error).message}`);
  }
  try {
    return readBitmapExactly(bitmap) ?? readPixels(bitmap, bitmap.width, bitmap.height, canvas);
  } finally {
    bitmap.close();
  }
}

function setUpImage(model: LayersModel, meta: Metadata): void {
  const input = byId<HTMLInputElement>('file');
  const drop = byId('drop');
  const preview = byId<HTMLImageElement>('image-preview');
  const label = byId('image-label');
  const container = byId('image-bars');
  const bars = barChart(container, meta.classes);
  const canvas = document.createElement('canvas');
  const handle = async (file: File | undefined): Promise<void> => {
    if (!file) return;
    try {
      const probs = classify(model, meta, await decodeFile(file, canvas));
      URL.revokeObjectURL(preview.src);
      preview.src = URL.createObjectURL(file);
      container.dataset.file = file.name;
      bars.show(probs);
      const top = probs.indexOf(Math.max(...probs));
      label.textContent = `${file.name}: ${meta.classes[top]} (${(probs[top] * 100).toFixed(1)} %)`;
      byId('error').hidden = true;
    } catch (err) {
      showError((err as Error).message);
    }
  };
  input.disabled = false;
  input.addEventListener('change', () => void handle(input.files?.[0]));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void handle(e.dataTransfer?.files[0]);
  });
}

function setUpCamera(model: LayersModel, meta: Metadata): void {
  const button = byId<HTMLButtonElement>('camera-toggle');
  const video = byId<HTMLVideoElement>('video');
  const label = byId('camera-label');
  const status = byId('camera-status');
  const bars = barChart(byId('camera-bars'), meta.classes);
  const canvas = document.createElement('canvas');
  let stream: MediaStream | undefined;
  let frames = 0;
  let since = performance.now();
  const loop = (): void => {
    if (!stream) return;
    if (video.readyState >= 2 && video.videoWidth > 0) {
      const probs = classify(model, meta, readPixels(video, video.videoWidth, video.videoHeight, canvas));
      bars.show(probs);
      const top = probs.indexOf(Math.max(...probs));
      label.textContent = `${meta.classes[top]} (${(probs[top] * 100).toFixed(1)} %)`;
      frames++;
      const now = performance.now();
      if (now - since > 1000) {
        status.textContent = `${video.videoWidth}x${video.videoHeight} camera, ${((frames * 1000) / (now - since)).toFixed(1)} frames/s classified`;
        frames = 0;
        since = now;
      }
    }
    requestAnimationFrame(loop);
  };
  const stop = (): void => {
    stream?.getTracks().forEach((t) => t.stop());
    stream = undefined;
    video.srcObject = null;
    button.textContent = 'Start the camera';
  };
  button.disabled = false;
  button.addEventListener('click', async () => {
    if (stream) return stop();
    try {
      if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser gives the page no camera (it needs https or localhost)');
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
      video.srcObject = stream;
      await video.play();
      button.textContent = 'Stop the camera';
      status.textContent = 'camera on';
      requestAnimationFrame(loop);
    } catch (err) {
      stop();
      showError(`camera: ${(err as Error).message}`);
    }
  });
}

async function main(): Promise<void> {
  const forced = new URLSearchParams(location.search).get('backend');
  const backend = await startBackend(forced);
  const meta = await fetchMetadata();
  const model = await tf.loadLayersModel(`${MODEL_DIR}/model.json`);
  // A first prediction compiles the backend's kernels, so the first real one is not slow.
  classify(model, meta, { data: new Uint8Array(4 * 4 * 4).fill(255), width: 4, height: 4 });
  const [lo, hi] = meta.pixelRange;
  byId('model-info').textContent =
    `${meta.classes.length} classes (${meta.classes.join(', ')}), input ${meta.inputSize}x${meta.inputSize} px scaled to [${lo}, ${hi}], ` +
    `base ${meta.base}; TensorFlow.js ${tf.version.tfjs} on ${backend}`;
  setUpImage(model, meta);
  setUpCamera(model, meta);
  document.body.dataset.backend = backend;
  document.body.dataset.state = 'ready';
}

main().catch((err: Error) => {
  showError(`The demo could not start: ${err.message}`);
  document.body.dataset.state = 'error';
});
