// Writes samples/*.png: the first Fashion-MNIST test image (t10k, MIT licence) of a few classes, padded to 32² as in training.
import { readIdx } from '../src/research/data/idx.js';
import { toRgbSize } from '../src/research/data/datasets.js';
import { writePng } from '../src/data/images.js';
const imgs = readIdx('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');
const labels = readIdx('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz');
const names = ['tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'];
const want = [0, 1, 7, 8, 9];
for (const cls of want) {
  const i = labels.data.findIndex((l) => l === cls);
  const set = await toRgbSize(1, 28, 1, imgs.data.subarray(i * 784, (i + 1) * 784), 32);
  await writePng(`samples/${names[cls]}.png`, 32, 32, set.data);
  console.log(cls, i, names[cls]);
}
