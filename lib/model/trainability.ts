/**
 * Which parts of a model train, saved and put back: the model's and every layer's `trainable` flag, every weight's
 * own flag and the BatchNormalization guards (./batchnorm.ts). For code that freezes or unfreezes for a while and
 * must leave the model as it found it (the learning-rate finder).
 */
import type * as tf from '@tensorflow/tfjs';
import { batchNormTrainingAllowed, guardBatchNorm } from './batchnorm';
import { allLayers } from './layers';

/** A saved state; plain data apart from the references to the model's own layers and weights. */
export interface Trainability {
  model: boolean;
  layers: { layer: tf.layers.Layer; trainable: boolean; batchNormTraining?: boolean }[];
  weights: { weight: tf.LayerVariable; trainable: boolean }[];
}

export function saveTrainability(model: tf.LayersModel): Trainability {
  return {
    model: model.trainable,
    layers: allLayers(model).map((layer) => ({ layer, trainable: layer.trainable, batchNormTraining: batchNormTrainingAllowed(layer) })),
    weights: model.weights.map((weight) => ({ weight, trainable: weight.trainable })),
  };
}

/** Puts `saved` back into the model it was saved from. */
export function restoreTrainability(model: tf.LayersModel, saved: Trainability): void {
  // Outermost first: setting a model's or layer's flag also sets its weights' flags, which come last.
  model.trainable = saved.model;
  for (const { layer, trainable, batchNormTraining } of saved.layers) {
    layer.trainable = trainable;
    if (batchNormTraining !== undefined) guardBatchNorm(layer, batchNormTraining);
  }
  for (const { weight, trainable } of saved.weights) weight.trainable = trainable;
}
