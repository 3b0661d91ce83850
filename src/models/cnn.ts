// Convolutional image classifiers, the precedent of transfer learning that the NLP lineage copies: LeNet-5 and a
// small ResNet, whole in one file, each a stack of numbered layers so that a transfer can copy, freeze or retrain
// layers 1…k (Yosinski et al. 2014).
//
// LeNet-5: LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document recognition": two 5×5
// convolutions (6 and 16 maps) each followed by 2×2 subsampling, then fully connected layers of 120 and 84 units and
// the classifier. As PyTorch's tutorials build it today: ReLU and max pooling, a 28×28 image padded by 2 to the
// paper's 32×32.
// ResNet: He, Zhang, Ren & Sun 2016, "Deep residual learning for image recognition", §4.2, the 6n+2-layer nets for
// small images: a 3×3 stem of 16 channels, three stages of n basic blocks (16, 32, 64 channels; stride 2 where the
// width doubles, with a 1×1 projection shortcut there), global average pooling and a linear classifier. n = 1 is
// ResNet-8. Parameter names are torchvision's resnet's (conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc), so
// a PyTorch state_dict of the same net saved as safetensors loads by name.
import { BatchNorm2d, Conv2d, Linear, Module, normalParam } from '../nn/index.js';
import * as ops from '../tensor/ops.js';
import { ShapeError } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkSizes, readConfigFields, type ModelFamily } from './family.js';
import { checkLabels, labelConfig } from './heads.js';

/** An image classifier's configuration, as its config.json holds it (`model_type: "cnn"`). */
export interface CNNConfig {
  /** Colour channels of the input: 1 (grayscale) or 3 (RGB). */
  num_channels: number;
  /** The input's height and width (LeNet-5's first fully connected layer is sized by it; the ResNet pools globally). */
  image_size: number;
  /** ResNet: 6n + 2 layers, n blocks per stage (8: n = 1). */
  depth: number;
  /** ResNet: the stem's channels, doubled at each of the two later stages. */
  base_width: number;
  /** Class names by index (transformers' layout), and the inverse. */
  id2label: Record<string, string>;
  label2id: Record<string, number>;
}

/** The defaults with `overrides` (ten classes named 0…9), checked; `where` names the source in errors. */
export function cnnConfig(overrides: Partial<CNNConfig> = {}, where = 'CNNConfig'): CNNConfig {
  const cfg: CNNConfig = { num_channels: 1, image_size: 28, depth: 8, base_width: 16, ...labelConfig(Array.from({ length: 10 }, (_, i) => String(i))), ...overrides };
  checkSizes(where, cfg, ['num_channels', 'image_size', 'depth', 'base_width']);
  if ((cfg.depth - 2) % 6 !== 0) throw new Error(`${where}: depth must be 6n + 2 (8, 14, 20, ...), got ${cfg.depth}`);
  checkLabels({ ...cfg, problem_type: null }, where);
  return cfg;
}

/** The class names of a config, by index. */
export function classNames(config: CNNConfig): string[] {
  return Object.keys(config.id2label).map((k) => config.id2label[k]!);
}

/** What an image classifier's forward pass returns. */
export interface ImageClassifierOutput {
  /** [N, classes]. */
  logits: Tensor;
  /** Mean cross-entropy when labels are given. */
  loss?: Tensor;
}

/**
 * What LeNet-5 and the ResNet share: numbered layers (the last one the classifier), a forward pass that records
 * each layer's output, and freezing of layers 1…k for transfer.
 */
export abstract class ImageClassifier extends Module {
  /** Layers 1…k are frozen (see `freeze`). */
  frozenLayers = 0;
  abstract readonly config: CNNConfig;
  /** The first convolution (whose filters the pictures show). */
  abstract conv1: Conv2d;
  /** The layers in order, each a module that `layerForward` runs; the last is the classifier. */
  abstract layers(): Module[];
  /** Layer `i` (0-based) of the stack on its input. */
  protected abstract layerForward(i: number, x: Tensor): Tensor;

  /** Each layer's output on pixels [N, C, H, W], in order (the last is the logits). */
  activations(pixels: Tensor): Tensor[] {
    const { num_channels: C, image_size: S } = this.config;
    if (pixels.rank !== 4 || pixels.shape[1] !== C || pixels.shape[2] !== S || pixels.shape[3] !== S) {
      throw new ShapeError(`${this.constructor.name}: images must be [N, ${C}, ${S}, ${S}], got [${pixels.shape.join(', ')}]`);
    }
    const out: Tensor[] = [];
    let x = pixels;
    for (let i = 0; i < this.layers().length; i++) out.push((x = this.layerForward(i, x)));
    return out;
  }

  /** pixels float32 [N, C, H, W], labels int32 [N]. */
  forward(pixels: Tensor, labels?: Tensor): ImageClassifierOutput {
    const acts = this.activations(pixels);
    const logits = acts[acts.length - 1]!;
    return { logits, loss: labels ? ops.crossEntropy(logits, labels) : undefined };
  }

  /**
   * Freezes layers 1…k (0 unfreezes all): their parameters get no gradients, and their batch norms keep their
   * running statistics (they stay in evaluation mode while the rest trains), so a frozen layer computes exactly
   * what it computed before the transfer.
   */
  freeze(k: number): this {
    const layers = this.layers();
    if (!(Number.isInteger(k) && k >= 0 && k < layers.length)) throw new Error(`freeze: k must be an integer in [0, ${layers.length - 1}] (the classifier stays trainable), got ${k}`);
    layers.forEach((layer, i) => layer.requireGrad(i >= k));
    this.frozenLayers = k;
    return this.train(this.training);
  }

  override train(on = true): this {
    super.train(on);
    for (const layer of this.layers().slice(0, this.frozenLayers)) layer.train(false);
    return this;
  }
}

/** LeNet-5 (see the file's header): conv1, conv2, fc1, fc2, fc3. */
export class LeNet5 extends ImageClassifier {
  conv1: Conv2d;
  conv2: Conv2d;
  fc1: Linear;
  fc2: Linear;
  fc3: Linear;
  constructor(readonly config: CNNConfig) {
    super();
    this.conv1 = new Conv2d(config.num_channels, 6, 5, { padding: 2 });
    this.conv2 = new Conv2d(6, 16, 5);
    // S → S (padded) → S/2 → S/2 - 4 → (S/2 - 4)/2
    const side = Math.floor((Math.floor(config.image_size / 2) - 4) / 2);
    if (side < 1) throw new Error(`LeNet5: images of ${config.image_size}×${config.image_size} are too small (at least 12×12)`);
    this.fc1 = new Linear(16 * side * side, 120);
    this.fc2 = new Linear(120, 84);
    this.fc3 = new Linear(84, Object.keys(config.id2label).length);
  }
  layers(): Module[] { return [this.conv1, this.conv2, this.fc1, this.fc2, this.fc3]; }
  protected layerForward(i: number, x: Tensor): Tensor {
    switch (i) {
      // relu(maxPool(x)) is maxPool(relu(x)), values and gradients (ReLU is monotone; a window with no positive
      // element passes no gradient either way), on a quarter of the elements.
      case 0: return ops.relu(ops.maxPool2d(this.conv1.forward(x), 2)); // (N, 6, S/2, S/2)
      case 1: return ops.relu(ops.maxPool2d(this.conv2.forward(x), 2)); // (N, 16, 5, 5) at S = 28
      case 2: return ops.relu(this.fc1.forward(ops.flatten(x, 1))); // (N, 120)
      case 3: return ops.relu(this.fc2.forward(x)); // (N, 84)
      default: return this.fc3.forward(x); // (N, classes)
    }
  }
}

/** A 3×3 convolution without bias (a batch norm follows), initialised as torchvision's: He normal, fan out. */
function conv3x3(cin: number, cout: number, stride: number): Conv2d {
  const conv = new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false });
  conv.weight = normalParam([cout, cin, 3, 3], Math.sqrt(2 / (cout * 9)));
  return conv;
}

/** ResNet's basic block: two 3×3 convolutions with batch norms, and the shortcut (a 1×1 projection where the shape changes). */
export class BasicBlock extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  /** torchvision's downsample: [1×1 convolution, batch norm], or null for the identity. */
  downsample: [Conv2d, BatchNorm2d] | null;
  constructor(cin: number, cout: number, stride: number) {
    super();
    this.conv1 = conv3x3(cin, cout, stride);
    this.bn1 = new BatchNorm2d(cout);
    this.conv2 = conv3x3(cout, cout, 1);
    this.bn2 = new BatchNorm2d(cout);
    if (stride !== 1 || cin !== cout) {
      const proj = new Conv2d(cin, cout, 1, { stride, bias: false });
      proj.weight = normalParam([cout, cin, 1, 1], Math.sqrt(2 / cout));
      this.downsample = [proj, new BatchNorm2d(cout)];
    } else {
      this.downsample = null;
    }
  }
  forward(x: Tensor): Tensor {
    const shortcut = this.downsample ? this.downsample[1].forward(this.downsample[0].forward(x)) : x;
    // relu(bn1(conv1(x))) and relu(bn2(conv2(.)) + shortcut), each one fused batch norm kernel where the backend has it.
    const h = this.bn1.forward(this.conv1.forward(x), { relu: true });
    return this.bn2.forward(this.conv2.forward(h), { relu: true, residual: shortcut });
  }
}

/** The stem, conv1 and bn1, as one layer of the stack (torchvision keeps them at the top level, so the ResNet does too). */
class Stem extends Module {
  constructor(readonly conv1: Conv2d, readonly bn1: BatchNorm2d) { super(); }
  forward(x: Tensor): Tensor { return this.bn1.forward(this.conv1.forward(x), { relu: true }); }
}

/** A stage of blocks as one layer of the stack. */
class Stage extends Module {
  constructor(readonly blocks: BasicBlock[]) { super(); }
  forward(x: Tensor): Tensor { return this.blocks.reduce((y, block) => block.forward(y), x); }
}

/** The ResNet for small images (see the file's header): stem, layer1, layer2, layer3, fc. */
export class ResNet extends ImageClassifier {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  layer1: BasicBlock[];
  layer2: BasicBlock[];
  layer3: BasicBlock[];
  fc: Linear;
  /** The layers over the fields above, which keep torchvision's names (private: not walked for the state dict). */
  readonly #stack: (Module & { forward(x: Tensor): Tensor })[];
  constructor(readonly config: CNNConfig) {
    super();
    const n = (config.depth - 2) / 6, w = config.base_width;
    this.conv1 = conv3x3(config.num_channels, w, 1);
    this.bn1 = new BatchNorm2d(w);
    const stage = (cin: number, cout: number, stride: number) => Array.from({ length: n }, (_, i) => new BasicBlock(i === 0 ? cin : cout, cout, i === 0 ? stride : 1));
    this.layer1 = stage(w, w, 1);
    this.layer2 = stage(w, 2 * w, 2);
    this.layer3 = stage(2 * w, 4 * w, 2);
    this.fc = new Linear(4 * w, Object.keys(config.id2label).length);
    this.#stack = [new Stem(this.conv1, this.bn1), new Stage(this.layer1), new Stage(this.layer2), new Stage(this.layer3), this.fc];
  }
  layers(): Module[] { return this.#stack; }
  protected layerForward(i: number, x: Tensor): Tensor {
    if (i < this.#stack.length - 1) return this.#stack[i]!.forward(x); // (N, w·2^(i-1), S/2^(i-1), ...)
    return this.fc.forward(ops.flatten(ops.adaptiveAvgPool2d(x, 1), 1)); // global average pool, then (N, classes)
  }
}

/** The image classifiers in the model registry: config.json's `cnn` (our own layout), LeNet5 or ResNet. */
export const cnnFamily: ModelFamily<CNNConfig> = {
  modelType: 'cnn',
  basePrefix: 'cnn',
  architectures: [
    { name: 'LeNet5', model: LeNet5, create: (config) => new LeNet5(config), prefixed: false },
    { name: 'ResNet', model: ResNet, create: (config) => new ResNet(config), prefixed: false },
  ],
  configFromJson: (raw, where) => cnnConfig(readConfigFields(raw, cnnConfig(), where), where),
  configToJson: (config) => ({ ...config }),
  renameKey: (key) => key,
};
