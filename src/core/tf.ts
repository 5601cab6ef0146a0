/**
 * The one tfjs entry point of Stratum. Node and browser code import tf from here and pick a
 * backend elsewhere (src/backend for Node, web/ for WebGL). The union package registers the
 * gradients and chained ops (x.add(y)) that tfjs-core alone does not.
 *
 * Comparison ops are piecewise constant, so their gradient is zero; tfjs registers none, which
 * breaks second-order gradients through LeakyReLU/Maximum (the WGAN-GP penalty). We add them.
 */
import * as tf from '@tensorflow/tfjs';

export * from '@tensorflow/tfjs';

for (const kernelName of ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual']) {
  if (tf.getGradient(kernelName)) continue;
  tf.registerGradient({
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => ({ a: () => tf.zerosLike(saved[0]!), b: () => tf.zerosLike(saved[1]!) }),
  });
}
