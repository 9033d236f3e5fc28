/**
 * Seeded dropout masks: every Dropout layer gets a seed per step derived from (seed, epoch, batch, layer name), so
 * the masks are repeatable and identical on the cached and the plain path (tfjs' Dropout passes its `seed` field
 * to `tf.dropout`). A step split into several slices (./step.ts) gives each slice its own seed; one slice keeps
 * the one-part seed, so an unsplit run is unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { allLayers } from '../model/layers';
import { derivedSeed } from '../util/random';

/** Seed of a Dropout layer's mask in slice `part` of `parts` of a step. */
export function dropoutSeed(seed: number, epoch: number, batch: number, layer: string, part = 0, parts = 1): number {
  return derivedSeed(seed, parts > 1 ? `dropout:${epoch}:${batch}:${part}/${parts}:${layer}` : `dropout:${epoch}:${batch}:${layer}`);
}

/** Names of the model's Dropout layers, nested models included. */
export function dropoutLayerNames(model: tf.LayersModel): string[] {
  return allLayers(model)
    .filter((l) => l.getClassName() === 'Dropout')
    .map((l) => l.name);
}

/** Sets each Dropout layer's seed from `seeds` (by layer name); layers not named keep theirs. */
export function applyDropoutSeeds(model: tf.LayersModel, seeds: Record<string, number>): void {
  for (const l of allLayers(model)) {
    if (l.getClassName() === 'Dropout' && seeds[l.name] !== undefined) (l as unknown as { seed?: number }).seed = seeds[l.name];
  }
}
