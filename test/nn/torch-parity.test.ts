// Layers and composite ops against PyTorch: outputs and the gradients of every input and parameter, in float32 and
// float64, from the fixtures that scripts/gen_torch_fixtures.py writes to test/fixtures/torch/. Every case runs on
// every backend (float64 where the backend has it), and on the reference without its optional fused kernels, so both
// the fast paths and the composites match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import * as T from '../../src/tensor/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { BatchNorm2d, Buffer, Conv1d, Conv2d, Embedding, Highway, LayerNorm, LSTM, Module, Parameter } from '../../src/nn/index.js';
import { TorchEncoderLayer, TorchMultiheadAttention } from './torch-modules.js';

const DIR = new URL('../fixtures/torch/', import.meta.url);

interface Encoded { shape: number[]; dtype: 'float32' | 'int32' | 'float64'; data: number[] }
interface Fixture {
  case: string;
  config: Record<string, unknown>;
  inputs: Record<string, Encoded>;
  params: Record<string, Encoded>;
  upstream: Record<string, Encoded>;
  outputs: Record<string, Encoded>;
  grads: Record<string, Encoded>;
}

type FloatDType = 'float32' | 'float64';

/**
 * Largest error allowed, relative to the largest magnitude of the reference tensor. Measured worst errors on every
 * backend: 5e-7 in float32 on the CPU, 8e-7 on WebGPU (lavapipe); 4e-12 in float64.
 */
const TOLERANCE: Record<FloatDType, number> = { float32: 4e-6, float64: 5e-11 };

/** A fixture tensor in `dtype`. Float values are float32 by construction, so both dtypes see PyTorch's exact inputs. */
function decode(e: Encoded, dtype: FloatDType): T.Tensor {
  if (e.dtype === 'int32') return T.fromArray(Int32Array.from(e.data), e.shape);
  const exact = Float32Array.from(e.data);
  return T.fromArray(dtype === 'float64' ? Float64Array.from(exact) : exact, e.shape);
}

/** What a case hands back: its outputs by fixture name, and the parameters it used by state_dict key. */
interface Run { outputs: Record<string, T.Tensor>; params: Map<string, T.Tensor> }
type Case = (x: Record<string, T.Tensor>, fx: Fixture, dtype: FloatDType) => Run;

/** Loads the fixture's parameters into `m` by name (strictly: every key must match), then converts them to `dtype`. */
function load<M extends Module>(m: M, fx: Fixture, dtype: FloatDType): M {
  m.loadStateDict(new Map(Object.entries(fx.params).map(([k, v]) => [k, decode(v, 'float32')])));
  if (dtype === 'float64') for (const [name, p] of m.namedParameters()) m.setParameter(name, new Parameter(p.cast('float64').detach()));
  return m.eval();
}

/** A module case: its parameters come from the module after loading. */
function withModule<M extends Module>(make: (fx: Fixture) => M, forward: (m: M, x: Record<string, T.Tensor>, fx: Fixture) => Record<string, T.Tensor>): Case {
  return (x, fx, dtype) => {
    const m = load(make(fx), fx, dtype);
    return { outputs: forward(m, x, fx), params: new Map(m.namedParameters()) };
  };
}

/** A functional case: the fixture's parameters, if any, are plain leaf tensors. */
function functional(forward: (x: Record<string, T.Tensor>, fx: Fixture, p: Record<string, T.Tensor>) => Record<string, T.Tensor>): Case {
  return (x, fx, dtype) => {
    const params = Object.fromEntries(Object.entries(fx.params).map(([k, v]) => [k, decode(v, dtype).requireGrad()]));
    return { outputs: forward(x, fx, params), params: new Map(Object.entries(params)) };
  };
}

const num = (fx: Fixture, key: string) => fx.config[key] as number;

function crossEntropyCase(): Case {
  return functional((x, fx) => ({
    loss: T.crossEntropy(x.logits!, x.target!, {
      ignoreIndex: num(fx, 'ignore_index'),
      labelSmoothing: num(fx, 'label_smoothing'),
      reduction: fx.config.reduction as 'mean' | 'sum' | 'none',
    }),
  }));
}

function transformerCase(): Case {
  return withModule(
    // the fixtures name PyTorch's activations: 'gelu' (erf) and 'gelu_tanh', transformers' 'gelu_new'
    (fx) => new TorchEncoderLayer(num(fx, 'dim'), num(fx, 'heads'), num(fx, 'ffn_dim'), fx.config.activation === 'gelu_tanh' ? 'gelu_new' : 'gelu',
      fx.config.norm_first as boolean, num(fx, 'layer_norm_eps')),
    (m, x, fx) => ({ y: m.forward(x.x!, x.attention_mask, fx.config.causal as boolean) }),
  );
}

function lstmCase(via: 'lengths' | 'mask'): Case {
  return withModule(
    (fx) => new LSTM({ inputSize: num(fx, 'input_size'), hiddenSize: num(fx, 'hidden_size'), numLayers: num(fx, 'num_layers'),
      bidirectional: fx.config.bidirectional as boolean, ...(fx.config.proj_size !== undefined ? { projSize: num(fx, 'proj_size') } : {}) }),
    (m, x, fx) => {
      const lengths = fx.inputs.lengths!.data;
      const [B, T_] = x.x!.shape as [number, number];
      const seq = via === 'lengths' ? { lengths }
        : { mask: T.fromArray(Array.from({ length: B * T_ }, (_, i) => (i % T_ < lengths[Math.floor(i / T_)]! ? 1 : 0)), [B, T_], { dtype: 'int32' }) };
      const out = m.forward(x.x!, seq);
      return { output: out.output, h_n: out.h, c_n: out.c };
    },
  );
}

/** BatchNorm2d with the fixture's parameters and running statistics (in `dtype`), in training or eval mode. */
function batchNormCase(): Case {
  return (x, fx, dtype) => {
    const C = num(fx, 'num_features');
    const m = new BatchNorm2d(C, num(fx, 'eps'), num(fx, 'momentum'));
    const stat = (key: string) => T.fromArray(fx.config[key] as number[], [C]);
    m.loadStateDict(new Map([...Object.entries(fx.params).map(([k, v]) => [k, decode(v, 'float32')] as const),
      ['running_mean', stat('running_mean')], ['running_var', stat('running_var')], ['num_batches_tracked', T.zeros([], { dtype: 'int32' })]]));
    if (dtype === 'float64') {
      for (const [name, p] of m.namedParameters()) m.setParameter(name, new Parameter(p.cast('float64').detach()));
      m.running_mean = new Buffer(m.running_mean.cast('float64'));
      m.running_var = new Buffer(m.running_var.cast('float64'));
    }
    m.train(fx.config.training as boolean);
    const y = m.forward(x.x!);
    const outputs: Record<string, T.Tensor> = fx.config.training ? { y, running_mean: m.running_mean, running_var: m.running_var } : { y };
    return { outputs, params: new Map(m.namedParameters()) };
  };
}

/** Every fixture case and how our engine computes it. A fixture without an entry here fails the test. */
const CASES: Record<string, Case[]> = {
  layer_norm: [
    withModule(() => new LayerNorm(8), (m, x) => ({ y: m.forward(x.x!) })),
  ],
  layer_norm_2d: [functional((x, fx, p) => ({ y: T.layerNorm(x.x!, p.weight!, p.bias!, num(fx, 'eps')) }))],
  softmax_axis1: [functional((x) => ({ softmax: T.softmax(x.x!, 1), log_softmax: T.logSoftmax(x.x!, 1) }))],
  gelu: [functional((x) => ({ erf: T.gelu(x.x!), tanh: T.gelu(x.x!, 'tanh') }))],
  attention_padding: [
    functional((x) => {
      const [B, Tk] = x.mask!.shape as [number, number];
      return { y: T.scaledDotProductAttention(x.q!, x.k!, x.v!, { mask: T.reshape(x.mask!, [B, 1, 1, Tk]) }) };
    }),
  ],
  attention_causal: [functional((x) => ({ y: T.scaledDotProductAttention(x.q!, x.k!, x.v!, { causal: true }) }))],
  multihead_attention: [
    withModule((fx) => new TorchMultiheadAttention(num(fx, 'embed_dim'), num(fx, 'num_heads')),
      (m, x, fx) => ({ y: m.forward(x.x!, x.attention_mask, fx.config.causal as boolean) })),
  ],
  lstm: [lstmCase('lengths'), lstmCase('mask')],
  lstm_proj: [lstmCase('lengths'), lstmCase('mask')],
  lstm_initial_state: [
    withModule((fx) => new LSTM({ inputSize: num(fx, 'input_size'), hiddenSize: num(fx, 'hidden_size') }), (m, x) => {
      const out = m.forward(x.x!, { h0: x.h0, c0: x.c0 });
      return { output: out.output, h_n: out.h, c_n: out.c };
    }),
  ],
  highway: [withModule((fx) => new Highway(num(fx, 'dim'), num(fx, 'num_layers')), (m, x) => ({ y: m.forward(x.x!) }))],
  transformer_post_ln: [transformerCase()],
  transformer_pre_ln: [transformerCase()],
  transformer_pre_ln_causal: [transformerCase()],
  cross_entropy_mean: [crossEntropyCase()],
  cross_entropy_mean_smoothed: [crossEntropyCase()],
  cross_entropy_sum_smoothed: [crossEntropyCase()],
  cross_entropy_none: [crossEntropyCase()],
  cross_entropy_3d: [crossEntropyCase()],
  conv2d_maxpool: [
    withModule(() => new Conv2d(3, 4, 3, { padding: 1 }), (m, x) => ({ y: T.maxPool2d(m.forward(x.x!), 2) })),
  ],
  conv2d_strided_pools: [
    withModule(() => new Conv2d(3, 4, [3, 2], { stride: 2, padding: [1, 0] }), (m, x) => {
      const y = m.forward(x.x!);
      return { conv: y, max: T.maxPool2d(y, 3, 2, 1), avg: T.avgPool2d(y, 3, 2, 1) };
    }),
  ],
  conv1d_max_over_time: [
    withModule(() => new Conv1d(5, 6, 3, { padding: 1 }), (m, x) => ({ y: T.maxOverTime(m.forward(x.x!)) })),
  ],
  embedding: [withModule(() => new Embedding(7, 4), (m, x) => ({ y: m.forward(x.ids!) }))],
  conv2d_dilated_groups: [
    withModule(() => new Conv2d(4, 6, 3, { stride: [2, 1], padding: [2, 1], dilation: [2, 1], groups: 2 }), (m, x) => ({ y: m.forward(x.x!) })),
  ],
  conv2d_depthwise: [withModule(() => new Conv2d(3, 6, 3, { padding: 1, groups: 3, bias: false }), (m, x) => ({ y: m.forward(x.x!) }))],
  conv1d_dilated_groups: [withModule(() => new Conv1d(4, 4, 3, { padding: 2, dilation: 2, groups: 2 }), (m, x) => ({ y: m.forward(x.x!) }))],
  max_pool_dilated: [functional((x) => ({ y: T.maxPool2d(x.x!, 3, 2, 1, 2), overlapping: T.maxPool2d(x.x!, [3, 2], 1) }))],
  adaptive_avg_pool: [
    functional((x) => ({ uneven: T.adaptiveAvgPool2d(x.x!, [3, 2]), global: T.adaptiveAvgPool2d(x.x!, 1), wider: T.adaptiveAvgPool2d(x.x!, [3, 4]) })),
  ],
  batch_norm_train: [batchNormCase()],
  batch_norm_eval: [batchNormCase()],
};

/** Fails unless |got - want| <= tol · max|want| everywhere (and the shapes agree). */
async function assertClose(what: string, got: T.Tensor | null, want: Encoded, tol: number): Promise<void> {
  const ref = want.data;
  const scale = Math.max(1e-30, ...ref.map(Math.abs));
  if (got === null) {
    assert.ok(ref.every((v) => v === 0), `${what}: no gradient, but PyTorch's is nonzero`);
    return;
  }
  assert.deepEqual([...got.shape], want.shape, `${what}: shape`);
  const values = await got.data();
  let worst = 0, at = -1;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(values[i]! - ref[i]!) / scale;
    if (!(err <= worst)) { worst = err; at = i; }
  }
  assert.ok(worst <= tol, `${what}: relative error ${worst.toExponential(2)} > ${tol} at flat index ${at} (ours ${values[at]}, PyTorch ${ref[at]})`);
}

async function check(fx: Fixture, run: Case, dtype: FloatDType, label: string): Promise<void> {
  const inputs: Record<string, T.Tensor> = {};
  for (const [name, e] of Object.entries(fx.inputs)) {
    inputs[name] = decode(e, dtype);
    if (e.dtype !== 'int32') inputs[name].requireGrad();
  }
  const { outputs, params } = run(inputs, fx, dtype);
  assert.deepEqual(Object.keys(outputs).sort(), Object.keys(fx.outputs).sort(), `${label}: outputs`);
  let total: T.Tensor | null = null;
  for (const [name, out] of Object.entries(outputs)) {
    await assertClose(`${label} output '${name}'`, out, fx.outputs[name]!, TOLERANCE[dtype]);
    const term = T.sum(T.mul(out, decode(fx.upstream[name]!, dtype)));
    total = total ? T.add(total, term) : term;
  }
  total!.backward();
  const leaves = new Map<string, T.Tensor>([...Object.entries(inputs), ...params]);
  for (const [name, want] of Object.entries(fx.grads)) {
    const leaf = leaves.get(name);
    assert.ok(leaf, `${label}: PyTorch has a gradient for '${name}', which this case does not use`);
    await assertClose(`${label} grad '${name}'`, leaf.grad, want, TOLERANCE[dtype]);
  }
  assert.deepEqual([...params.keys()].sort(), Object.keys(fx.params).sort(), `${label}: parameter names`);
}

const fixtures = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

test('every PyTorch fixture has a case, and every case a fixture', () => {
  const names = fixtures.map((f) => f.replace(/\.json$/, ''));
  assert.deepEqual(names, Object.keys(CASES).sort());
});

for (const file of fixtures) {
  const fx = JSON.parse(readFileSync(new URL(file, DIR), 'utf8')) as Fixture;
  const runs = CASES[fx.case] ?? [];
  for (const dtype of ['float32', 'float64'] as const) {
    runs.forEach((run, i) => {
      const label = `${fx.case}${runs.length > 1 ? ` #${i + 1}` : ''} (${dtype})`;
      forEachBackend(`matches PyTorch: ${label}`, (b) => check(fx, run, dtype, `${label} [${b.name}]`), { unfused: true, float64: dtype === 'float64' });
    });
  }
}
