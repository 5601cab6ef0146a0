/** stratum experiment: its flags and help; the work is src/cli/actions/experiment.ts, imported only when the command runs */
import { Command, Option } from 'commander';
import { EXPERIMENT_DEFAULTS, MODEL_DEFAULTS, TRAIN_DEFAULTS } from '../../config.js';
import { ADVERSARIAL_DEFAULTS, KID_DEFAULTS, KID_EXPERIMENT_DEFAULTS, QUANTIZE64_DEFAULTS } from '../../config.js';
import { DEFAULT_MODEL, int, num, backendOption, outputOption, lazy } from '../options.js';

export function register(program: Command): void {
  const cmd = program
    .command('experiment')
    .description("reproduce the paper's experiments: table1 (PSNR/SSIM over T×K), table2 (ours vs baselines at |z| 130 and 260, and 20-colour quantisation), jitter (Fig. 16: one mask moved along random directions of p), vectorize (Fig. 5c: the model's render at 1024 against bilinear and bicubic upsampling), transfer (Fig. 15: models on each other's held-out images), adversarial (Fig. 9: L1 + λ·WGAN-GP for increasing λ at 10 and 20 masks), quantize64 (Fig. 8: a 64², 20-mask model against 20-colour quantisation), kid (GAN sample quality: KID on the bundled model's encoder features against held-out images, with calibration rows)")
    .argument('<name>', 'table1 | table2 | jitter | vectorize | transfer | adversarial | quantize64 | kid')
    .option('--lambdas <list>', `adversarial: comma-separated weights λ of the WGAN-GP term (default ${ADVERSARIAL_DEFAULTS.lambdas.join(',')})`)
    .option('--T <list>', `adversarial: comma-separated numbers of masks (default ${ADVERSARIAL_DEFAULTS.Ts.join(',')})`)
    .option('--critic-width <n>', `adversarial: channels of the patch critic's first convolution (default ${ADVERSARIAL_DEFAULTS.criticWidth})`, int('--critic-width'))
    .option('--models <list>', 'transfer: comma-separated model files', 'models/default.stratum,models/fashion-mnist.stratum')
    .option('--sets <list>', 'transfer: comma-separated data sets whose held-out images are used (see train --data)', 'photos:2000:0.8:0.8,fashion-mnist')
    .option('--model <file>', 'jitter, vectorize: the model; quantize64: a 64² model to use instead of training one; kid: the feature network (its encoder)', DEFAULT_MODEL)
    .option('--gans <list>', 'kid: comma-separated GAN checkpoints (gan.stratum)')
    .option('--real <spec>', 'kid: the held-out reference set, photos-test[:N] or fashion-mnist-test[:DIR] (its first 512)', KID_EXPERIMENT_DEFAULTS.real)
    .option('--n <n>', `kid: samples per GAN, and images of each calibration set (subsets of ${KID_DEFAULTS.subsetSize} per side)`, int('--n', 2), KID_EXPERIMENT_DEFAULTS.n)
    .option('--images <list>', 'jitter (the first), vectorize: comma-separated images', 'samples/sunset.jpg,samples/bag.png')
    .option('--layer <n>', 'jitter: the layer to move (default: the one worth most)', int('--layer', 0))
    .option('--data <spec>', `data set (see train --data; quantize64: ${QUANTIZE64_DEFAULTS.data})`, 'fashion-mnist')
    .option('--steps <n>', `training steps per row (adversarial: ${ADVERSARIAL_DEFAULTS.steps}; quantize64: of its model, ${QUANTIZE64_DEFAULTS.steps})`, int('--steps'), EXPERIMENT_DEFAULTS.steps)
    .option('--batch <n>', `batch size (adversarial: ${ADVERSARIAL_DEFAULTS.batch}; quantize64: ${QUANTIZE64_DEFAULTS.batch})`, int('--batch'), TRAIN_DEFAULTS.batch)
    .option('--save-every <n>', "table1, table2: write the training row's state (OUT/rows/) every this many steps; a killed run resumes from it", int('--save-every'), EXPERIMENT_DEFAULTS.saveEvery)
    .option('--eval-every <n>', 'table1, table2: held-out PSNR of the training row every this many steps (OUT/curves.jsonl, OUT/NAME-curves.png)', int('--eval-every'), EXPERIMENT_DEFAULTS.evalEvery)
    .option('--eval-images <n>', 'table1, table2: how many held-out images (the first ones) those curve points are measured on', int('--eval-images'), EXPERIMENT_DEFAULTS.evalImages)
    .option('--rows <list>', 'table1, table2: only these rows, comma-separated, by name as in the table (T=10:K=10 for "T=10 K=10"; resup for the ResNet decoders)')
    .option('--lr <x>', `table1, table2: Adam's learning rate (default ${TRAIN_DEFAULTS.lr}; a row at another rate is cached apart)`, num('--lr'))
    .option('--clip <x>', 'table1, table2: clip each step\'s gradient norm to x (0: off; a clipped row is cached apart)', num('--clip', true), 0)
    .addOption(new Option('--loss <kind>', "table1, table2: the reconstruction loss (mse: for a baseline that the paper's L1 kills, as MLP-xy on Fashion-MNIST; cached apart)").choices(['l1', 'mse']).default('l1'))
    .option('--stop-canvas-grad', 'table1, table2: our rows feed the canvas to the encoder detached, as the authors\' code does (cached apart; docs/photos.md: the canvas gradient made the photo model diverge)')
    .option('--finished-only', 'table1, table2: train nothing; the table, its picture and its curves from the rows finished so far (a row in training shows its curve so far)')
    .option('--size <n>', 'image size (quantize64: 64)', int('--size', 8), MODEL_DEFAULTS.size)
    .option('--holdout <n>', `held-out images (adversarial: ${ADVERSARIAL_DEFAULTS.holdout}; quantize64: ${QUANTIZE64_DEFAULTS.holdout})`, int('--holdout'), TRAIN_DEFAULTS.holdout)
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .addOption(new Option('--encoder <kind>', 'encoder for every row').choices(['resnet18', 'small']).default(EXPERIMENT_DEFAULTS.encoder))
    .option('--show <n>', 'held-out images shown side by side', int('--show'), EXPERIMENT_DEFAULTS.show)
    .option('--seed <n>', 'seed', int('--seed', 0), TRAIN_DEFAULTS.seed)
    .addOption(backendOption());
  outputOption(cmd, 'results folder', 'runs/experiments').action(lazy(() => import('../actions/experiment.js'), 'runExperiments'));
}
