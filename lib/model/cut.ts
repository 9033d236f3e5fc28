/** Cutting a model in two at a layer, so that the frozen half's activations can be computed once and cached. */
import * as tf from '@tensorflow/tfjs';
import { ancestorTensors, layerOutputIn, reapplyLayers } from './graph';

/**
 * `prefix`: the model's input -> output of `layerName`; `suffix`: a new input of that shape -> the model's
 * output. Both re-apply the SAME layer objects, so training `suffix` trains `model`. Residual connections
 * inside the suffix are kept; a cut crossed by a connection (a suffix layer that needs a tensor from before
 * the cut other than the cut itself) throws. The caller owns both models; disposing them frees only their
 * own references to the shared layers.
 */
export function cutModelAt(model: tf.LayersModel, layerName: string): { prefix: tf.LayersModel; suffix: tf.LayersModel } {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`cutModelAt: model '${model.name}' must have one input and one output`);
  }
  const cut = layerOutputIn(model, layerName);
  const before = ancestorTensors([cut]);
  const suffixInput = tf.input({ shape: cut.shape.slice(1) as number[], name: `${layerName}_input` });
  const [suffixOut] = reapplyLayers(
    model.outputs,
    new Map([[cut.id, suffixInput]]),
    (t, consumer) => {
      throw new Error(
        `cutModelAt: cannot cut '${model.name}' at '${layerName}': layer '${consumer}' after the cut also needs the output of ` +
          `'${t.sourceLayer.name}' from before it (a skip connection crosses the cut). Cut at the end of a block instead.`,
      );
    },
    (t) => before.has(t.id),
  );
  const modelIn = model.inputs[0];
  const prefixInput = tf.input({ shape: modelIn.shape.slice(1) as number[], name: modelIn.sourceLayer.name });
  const [prefixOut] = reapplyLayers([cut], new Map([[modelIn.id, prefixInput]]), (t) => {
    throw new Error(`cutModelAt: '${model.name}' needs input '${t.sourceLayer.name}' besides its main input`);
  });
  return {
    prefix: tf.model({ inputs: prefixInput, outputs: prefixOut, name: `${model.name}_to_${layerName}` }),
    suffix: tf.model({ inputs: suffixInput, outputs: suffixOut, name: `${model.name}_from_${layerName}` }),
  };
}
