/** One rendered hand image: a pure function of (pose, seed, size). */
import { createRng } from '../../util/random';
import { HAND_POSES, HandPose, sampleHandParams } from './params';
import { rasterizeHand } from './raster';
import { buildHandParts } from './skeleton';

/** Options of renderHand. */
export interface RenderHandOptions {
  pose: HandPose;
  /** Integer seed: same seed, same image. */
  seed: number;
  /** Output width and height in pixels (default 300, as in TFDS rock_paper_scissors). */
  size?: number;
}

/** Renders one CGI hand in `pose` as RGB bytes (size*size*3, row-major). Pure and deterministic. */
export function renderHand(options: RenderHandOptions): Uint8Array {
  const { pose, seed } = options;
  const size = options.size ?? 300;
  if (!HAND_POSES.includes(pose)) throw new Error(`renderHand: pose must be one of ${HAND_POSES.join(', ')}, got ${String(pose)}`);
  if (!Number.isInteger(seed)) throw new Error(`renderHand: seed must be an integer, got ${seed}`);
  if (!Number.isInteger(size) || size < 8 || size > 4096) throw new Error(`renderHand: size must be an integer in [8, 4096], got ${size}`);
  const params = sampleHandParams(pose, createRng(seed));
  return rasterizeHand(buildHandParts(params, size), params, size);
}
