/** One rendered hand image: a pure function of (pose, seed, size, domain). */
import { createRng } from '../../util/random';
import { RENDER_DEFAULTS } from './defaults';
import { HAND_DOMAINS, HAND_POSES, HandDomain, HandPose, sampleHandParams } from './params';
import { rasterizeHand } from './raster';
import { buildHandParts } from './skeleton';

/** Options of renderHand. */
export interface RenderHandOptions {
  pose: HandPose;
  /** Integer seed: same seed, same image. */
  seed: number;
  /** Output width and height in pixels (default 300, as in TFDS rock_paper_scissors). */
  size?: number;
  /** Which hands to draw from: the full variety, or the training or test part of the shifted design (default 'all'). */
  domain?: HandDomain;
}

/** Renders one CGI hand in `pose` as RGB bytes (size*size*3, row-major). Pure and deterministic. */
export function renderHand(options: RenderHandOptions): Uint8Array {
  const { pose, seed } = options;
  const size = options.size ?? RENDER_DEFAULTS.size;
  const domain = options.domain ?? 'all';
  if (!HAND_POSES.includes(pose)) throw new Error(`renderHand: pose must be one of ${HAND_POSES.join(', ')}, got ${String(pose)}`);
  if (!Number.isInteger(seed)) throw new Error(`renderHand: seed must be an integer, got ${seed}`);
  if (!Number.isInteger(size) || size < 8 || size > 4096) throw new Error(`renderHand: size must be an integer in [8, 4096], got ${size}`);
  if (!HAND_DOMAINS.includes(domain)) throw new Error(`renderHand: domain must be one of ${HAND_DOMAINS.join(', ')}, got ${String(domain)}`);
  const params = sampleHandParams(pose, createRng(seed), domain);
  return rasterizeHand(buildHandParts(params, size), params, size);
}
