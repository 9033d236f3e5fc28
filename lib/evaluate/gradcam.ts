/**
 * Grad-CAM (Selvaraju et al., 2017): where in an image a classifier found the evidence for a class.
 *
 * The class score is differentiated at a spatial feature map A (default: the last one, which the head's
 * global pooling reads). Each channel k gets the weight w_k = mean over positions of d score / d A_k; the
 * map is ReLU(sum_k w_k A_k), resized to the input (bilinear) and divided by its maximum, so it lies in
 * [0, 1]. The score is the class logit before the softmax: a probability's gradient also carries every
 * other class (d p_c = p_c (d z_c - sum_j p_j d z_j)), which mixes their evidence in and vanishes when the
 * model is sure. The network runs in inference mode (BatchNormalization on moving statistics, no dropout),
 * so an image's map does not depend on the others of its batch.
 */
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../data/decode';
import type { PixelSet } from '../data/pixels';
import { classScoreOf, featureMapOutput, type ClassScoreKind } from '../model/feature_map';
import { runLayers, tensorsReadAcross } from '../model/graph';
import type { Classifier } from '../model/persist';
import { rgbToInputTensor } from '../model/predict';

/** Images computed together (a batch keeps every activation of the network until its maps are done). */
export const GRADCAM_BATCH_SIZE = 8;

/**
 * An image to explain: its RGB bytes at the classifier's input size (`size*size*3`, row-major, like one
 * image of a PixelSet), or an image file (path or bytes: PNG or JPEG, any size) that is decoded and resized
 * as the data stage does it. `label` (the true class index) is carried into the result for captions.
 */
export type GradCamImage = { rgb: Uint8Array; label?: number; file?: string } | { file: string | Buffer; label?: number };

export interface GradCamOptions {
  /** Layer whose output map is explained. Default: the last 4-D feature map before the output (MobileNetV2: `out_relu`). */
  layer?: string;
  /** Class to explain. Default: the predicted one. In `gradCamBatch`, a number for every image or one per image. */
  classIndex?: number;
}

export interface GradCamBatchOptions extends Omit<GradCamOptions, 'classIndex'> {
  classIndex?: number | number[];
  /** Images per forward and backward pass. Default `GRADCAM_BATCH_SIZE`. */
  batchSize?: number;
}

/** A Grad-CAM map and what the classifier said about the image. Plain data: no tensors. */
export interface GradCamResult {
  /** Side of the image and the map (the classifier's input size). */
  size: number;
  /** `size*size` values in [0, 1], row-major; the maximum is 1 unless the map is all zeros (see `peak`). */
  heatmap: Float32Array;
  /** The image as the classifier saw it: `size*size*3` RGB bytes (for `{ rgb }`, the caller's own bytes: read-only). */
  rgb: Uint8Array;
  /** The explained class. */
  classIndex: number;
  className: string;
  /** The predicted class and the probability of every class. */
  predictedIndex: number;
  predictedClass: string;
  probabilities: number[];
  /** The true class, when the image came with a label. */
  label?: number;
  trueClass?: string;
  file?: string;
  /** The explained layer and its map's height and width (the map's resolution before resizing). */
  layer: string;
  mapSize: [number, number];
  /** What was differentiated: the class logit, or the model's output where no logit could be found. */
  score: ClassScoreKind;
  /** The largest value of ReLU(sum_k w_k A_k) before normalising; 0 when no position raised the score. */
  peak: number;
}

/** Images `indices` of a pixel set (at the classifier's input size), with their labels and files. */
export function pixelSetImages(set: Pick<PixelSet, 'size' | 'count' | 'pixels' | 'labels' | 'files'>, indices: number[]): GradCamImage[] {
  const per = set.size * set.size * 3;
  return indices.map((i) => {
    if (!(Number.isInteger(i) && i >= 0 && i < set.count)) throw new Error(`pixelSetImages: index ${i} is not an image of the set (0..${set.count - 1})`);
    return { rgb: set.pixels.subarray(i * per, (i + 1) * per), label: set.labels[i], file: set.files[i] };
  });
}

/** Grad-CAM of one image (see the module comment). Takes and returns no tensors; leaves none behind. */
export async function gradCam(classifier: Classifier, image: GradCamImage, options: GradCamOptions = {}): Promise<GradCamResult> {
  const [result] = await gradCamBatch(classifier, [image], options);
  return result;
}

/** Grad-CAM of several images, in batches of `batchSize`; results in input order. Takes and returns no tensors. */
export async function gradCamBatch(classifier: Classifier, images: GradCamImage[], options: GradCamBatchOptions = {}): Promise<GradCamResult[]> {
  const { classes, inputSize: size } = classifier.metadata;
  const batchSize = options.batchSize ?? GRADCAM_BATCH_SIZE;
  if (!Array.isArray(images) || !images.length) throw new Error('gradCam: no images given');
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`gradCam: batchSize must be an integer >= 1, got ${batchSize}`);
  const chosen = options.classIndex;
  const wanted: (number | undefined)[] = Array.isArray(chosen) ? chosen : images.map(() => chosen);
  if (wanted.length !== images.length) throw new Error(`gradCam: ${wanted.length} classIndex values for ${images.length} images`);
  const isClass = (c: number | undefined): boolean => c === undefined || (Number.isInteger(c) && c >= 0 && c < classes.length);
  images.forEach((im, i) => {
    if (!isClass(wanted[i])) throw new Error(`gradCam: classIndex ${wanted[i]} (image ${i}) is not a class index 0..${classes.length - 1} (${classes.join(', ')})`);
    if (!isClass(im?.label)) throw new Error(`gradCam: label ${im.label} of image ${i} is not a class index 0..${classes.length - 1}`);
  });
  const graph = gradCamGraph(classifier.model, options.layer);
  const rgbs = await Promise.all(images.map((im, i) => imagePixels(im, i, size)));
  const results: GradCamResult[] = [];
  for (let start = 0; start < images.length; start += batchSize) {
    const end = Math.min(images.length, start + batchSize);
    const maps = camBatch(classifier, graph, rgbs.slice(start, end), wanted.slice(start, end));
    maps.forEach((m, k) => {
      const image = images[start + k];
      const label = image.label;
      results.push({
        size,
        ...m,
        rgb: rgbs[start + k],
        className: classes[m.classIndex],
        predictedClass: classes[m.predictedIndex],
        ...(label !== undefined ? { label, trueClass: classes[label] } : {}),
        ...(typeof image.file === 'string' ? { file: image.file } : {}),
        layer: graph.layer,
        score: graph.score.kind,
      });
    });
  }
  return results;
}

async function imagePixels(image: GradCamImage, i: number, size: number): Promise<Uint8Array> {
  if (image && 'rgb' in image && image.rgb instanceof Uint8Array) {
    const want = size * size * 3;
    if (image.rgb.length !== want) {
      throw new Error(`gradCam: image ${i} has ${image.rgb.length} RGB bytes; the classifier takes ${size}x${size} RGB (${want} bytes). Load the pixels at size ${size}, or pass { file }`);
    }
    return image.rgb;
  }
  if (image && 'file' in image && (typeof image.file === 'string' || Buffer.isBuffer(image.file))) return decodeImage(image.file, size);
  throw new Error(`gradCam: image ${i} must be { rgb: Uint8Array } (${size}x${size} RGB bytes) or { file: path or Buffer }`);
}

interface CamGraph {
  layer: string;
  map: tf.SymbolicTensor;
  score: ReturnType<typeof classScoreOf>;
  /** What the second half (map -> score) reads from the first: the map and any connection crossing it. */
  across: tf.SymbolicTensor[];
}

function gradCamGraph(model: tf.LayersModel, layer: string | undefined): CamGraph {
  const map = featureMapOutput(model, layer);
  const score = classScoreOf(model);
  if (model.inputs.length !== 1) throw new Error(`gradCam: model '${model.name}' must have one image input`);
  return { layer: map.sourceLayer.name, map, score, across: tensorsReadAcross([score.input], map) };
}

type CamMap = Pick<GradCamResult, 'heatmap' | 'classIndex' | 'predictedIndex' | 'probabilities' | 'mapSize' | 'peak'>;

function camBatch(classifier: Classifier, g: CamGraph, rgbs: Uint8Array[], wanted: (number | undefined)[]): CamMap[] {
  const { model, metadata } = classifier;
  const size = metadata.inputSize;
  const n = rgbs.length;
  return tf.tidy(() => {
    const x = tf.concat(rgbs.map((rgb) => rgbToInputTensor(rgb, size, metadata.pixelRange)));
    // The first half runs once, in its own scope: only what the second half reads is kept.
    const kept = tf.tidy(() => {
      const values = new Map<number, tf.Tensor>([[model.inputs[0].id, x]]);
      runLayers([g.map], values);
      return g.across.map((t) => values.get(t.id)!);
    });
    const from = (a: tf.Tensor): Map<number, tf.Tensor> => {
      const values = new Map(g.across.map((t, k) => [t.id, kept[k]]));
      return values.set(g.map.id, a);
    };
    const a = kept[g.across.indexOf(g.map)] as tf.Tensor4D;
    const scores = g.score.score(runLayers([g.score.input], from(a))[0]);
    const probs = g.score.kind === 'logit' ? tf.softmax(scores) : scores;
    const predicted = Array.from(tf.argMax(scores, 1).dataSync());
    const classIndex = wanted.map((c, i) => c ?? predicted[i]);
    const pick = tf.oneHot(tf.tensor1d(classIndex, 'int32'), scores.shape[1]);
    // Summing the chosen scores over the batch gives each image its own gradient: the images do not interact.
    const grads = tf.grad((m: tf.Tensor) => tf.sum(tf.mul(g.score.score(runLayers([g.score.input], from(m))[0]), pick)))(a);
    const weights = tf.mean(grads, [1, 2], true);
    const cam = tf.relu(tf.sum(tf.mul(a, weights), -1, true)) as tf.Tensor4D;
    const peak = tf.max(cam, [1, 2, 3]).dataSync();
    const up = tf.image.resizeBilinear(cam, [size, size], false, true);
    const heat = tf.divNoNan(up, tf.max(up, [1, 2, 3], true)).dataSync() as Float32Array;
    const p = probs.dataSync();
    const k = scores.shape[1];
    const px = size * size;
    return Array.from({ length: n }, (_, i) => ({
      heatmap: heat.slice(i * px, (i + 1) * px),
      classIndex: classIndex[i],
      predictedIndex: predicted[i],
      probabilities: Array.from(p.subarray(i * k, (i + 1) * k)),
      mapSize: [a.shape[1], a.shape[2]] as [number, number],
      peak: peak[i],
    }));
  });
}
