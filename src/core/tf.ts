/**
 * The one tfjs entry point of Stratum. Node and browser code import tf from here and pick a
 * backend elsewhere (src/backend for Node, web/ for WebGL). The union package registers the
 * gradients and chained ops (x.add(y)) that tfjs-core alone does not.
 */
export * from '@tensorflow/tfjs';
