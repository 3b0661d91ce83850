// The optimizer base: parameter groups, per-parameter state, zeroGrad/step, in-place parameter writes, and the
// saved-state format (JSON-able fields plus typed arrays, ready for safetensors) that resumes bit-for-bit.
import { noGrad } from '../tensor/autograd.js';
import { isFloat, type DType, type TypedArray } from '../tensor/dtype.js';
import { ShapeError, fmt, sameShape } from '../tensor/shape.js';
import { fromKernel, Tensor } from '../tensor/tensor.js';

/** A parameter with the name that keys its saved state (e.g. a `Module.namedParameters()` entry). */
export type NamedTensor = readonly [string, Tensor];

/** One group as given to a constructor: its parameters and any hyper-parameters that override the defaults. */
export type ParamGroupInput<H> = { params: readonly Tensor[] | readonly NamedTensor[] } & Partial<H>;

/** What optimizers take: plain tensors, named tensors, or parameter groups (each plain or named). */
export type Params<H> = readonly Tensor[] | readonly NamedTensor[] | readonly ParamGroupInput<H>[];

/** The hyper-parameters every optimizer has; schedulers change `lr`. */
export interface BaseHyper {
  lr: number;
}

/** A group as the optimizer holds it: hyper-parameters (mutable, as in PyTorch) and its parameters with their keys. */
export type ParamGroup<H> = H & { readonly params: readonly Tensor[]; readonly keys: readonly string[] };

/** The state of one parameter: steps taken and named buffers (PyTorch's names: exp_avg, momentum_buffer, ...). */
export interface ParamState {
  step: number;
  readonly buffers: Map<string, Tensor>;
}

/** A tensor saved as plain data. */
export interface SavedTensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

/** The JSON-able part of a saved optimizer. */
export interface OptimizerMeta {
  format: typeof STATE_FORMAT;
  version: typeof STATE_VERSION;
  /** The optimizer class, e.g. 'AdamW'. */
  optimizer: string;
  /** Each group's hyper-parameters and the keys of its parameters, in order. */
  groups: { hyper: Record<string, unknown>; params: string[] }[];
  /** By parameter key: steps taken and the names of its buffers (parameters that never had a gradient are absent). */
  params: Record<string, { step: number; buffers: string[] }>;
}

/**
 * A saved optimizer: `meta` is JSON (for safetensors, store `JSON.stringify(meta)` in the header's `__metadata__`);
 * `tensors` holds every buffer under `<parameter key>.<buffer name>`, e.g. `h.0.attn.c_attn.weight.exp_avg`.
 */
export interface OptimizerState {
  meta: OptimizerMeta;
  tensors: Record<string, SavedTensor>;
}

/** The `format` tag of saved optimizer state. */
export const STATE_FORMAT = 'pretrain.optimizer';
/** The version of the saved-state layout; bumped when it changes incompatibly. */
export const STATE_VERSION = 1;

/** Writes `value` (same shape and dtype) into `p`'s storage, so every holder of `p` or a view of it sees the update. */
export function assignInPlace(p: Tensor, value: Tensor): void {
  if (!sameShape(p.shape, value.shape) || p.dtype !== value.dtype) {
    throw new ShapeError(`assignInPlace: value ${value.dtype} ${fmt(value.shape)} does not match parameter ${p.dtype} ${fmt(p.shape)}`);
  }
  if (p.backend !== value.backend) throw new Error(`assignInPlace: value lives on '${value.backend.name}', parameter on '${p.backend.name}'`);
  p.backend.assign(p.view, value.view);
}

/** A fresh zero-filled, contiguous tensor shaped like `p`, on p's backend (kernels may update it in place). */
export function zerosLikeOwned(p: Tensor): Tensor {
  return fromKernel('zeros', p.backend.fill(p.dtype, p.size, 0), p.shape, p.dtype, p.backend);
}

/** Whether a tensor is the whole of its own contiguous storage, as fused kernels that take a bare buffer need. */
export function ownsStorage(t: Tensor): boolean {
  return t.offset === 0 && t.isContiguous && t.storage.size === t.size;
}

const storageIds = new WeakMap<object, number>();
let nextStorageId = 0;
/** Identifies a tensor's window onto its storage: equal for two Tensor objects that view the same elements. */
function viewKey(t: Tensor): string {
  let id = storageIds.get(t.storage);
  if (id === undefined) storageIds.set(t.storage, (id = nextStorageId++));
  return `${id}:${t.offset}:${t.shape.join(',')}:${t.strides.join(',')}`;
}

function isNamed(x: unknown): x is NamedTensor {
  return Array.isArray(x) && typeof x[0] === 'string' && x[1] instanceof Tensor;
}

/**
 * The base of SGD, Adam and AdamW. Subclasses give defaults, validate hyper-parameters and update one parameter
 * from its gradient; the base walks the groups under `noGrad` and owns state and its save/load.
 */
export abstract class Optimizer<H extends BaseHyper> {
  /** The groups, in order; change `lr` (or any hyper-parameter) here between steps. */
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state, created on a parameter's first step. */
  protected readonly state = new Map<Tensor, ParamState>();
  /** Every parameter key so far, and every parameter by the window of storage it covers (to catch mis-tied weights). */
  private readonly keyed = new Set<string>();
  private views = new Map<string, { key: string; tensor: Tensor }>();
  /**
   * The optimizer's name in messages and saved state. Ours override it with a literal, which survives minifiers;
   * a getter rather than a field so that it is already defined while the base constructor runs.
   */
  get kind(): string { return this.constructor.name; }

  constructor(params: Params<H>, private readonly defaults: H) {
    if (params.length === 0) throw new Error(`${this.kind}: got an empty parameter list`);
    const first = params[0];
    const flat = first instanceof Tensor || isNamed(first);
    for (const group of (flat ? [{ params }] : params) as readonly ParamGroupInput<H>[]) this.addParamGroup(group);
  }

  /**
   * Adds a group, e.g. layers unfrozen while fine-tuning (PyTorch's add_param_group); hyper-parameters it leaves out
   * take the constructor's defaults. Unnamed parameters are keyed by their position across all groups.
   */
  addParamGroup(group: ParamGroupInput<H>): void {
    const { params: list, ...overrides } = group;
    const gi = this.paramGroups.length;
    const tensors: Tensor[] = [], keys: string[] = [];
    const views = new Map(this.views);
    for (const item of list) {
      const [key, p] = isNamed(item) ? item : [String(this.keyed.size + keys.length), item as Tensor];
      if (!(p instanceof Tensor)) throw new TypeError(`${this.kind}: group ${gi} holds something that is not a Tensor`);
      if (!isFloat(p.dtype)) throw new Error(`${this.kind}: parameter '${key}' has dtype ${p.dtype}; only floating-point tensors can be optimized`);
      if (this.keyed.has(key) || keys.includes(key)) throw new Error(`${this.kind}: two parameters are named '${key}'`);
      const twin = views.get(viewKey(p));
      if (twin?.tensor === p) throw new Error(`${this.kind}: parameter '${key}' appears more than once`);
      // Two tensors over the same elements would each be stepped with its own gradient: tied weights must be one
      // Parameter object, as in PyTorch.
      if (twin) throw new Error(`${this.kind}: parameters '${twin.key}' and '${key}' are two tensors over the same data; tie weights by sharing one Parameter`);
      views.set(viewKey(p), { key, tensor: p });
      tensors.push(p);
      keys.push(key);
    }
    const hyper = { ...this.defaults, ...overrides } as H;
    this.validate(hyper);
    for (const key of keys) this.keyed.add(key);
    this.views = views;
    this.paramGroups.push({ ...hyper, params: tensors, keys });
  }

  /** Throws on invalid hyper-parameters (called for each group). */
  protected abstract validate(hyper: H): void;

  /** Updates `p` in place from `grad`; `state.step` already counts this step. Runs with gradient recording off. */
  protected abstract update(p: Tensor, grad: Tensor, group: ParamGroup<H>, state: ParamState): void;

  /** Clears every parameter's gradient: to null (the default, as PyTorch 2), or to zeros. */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) p.grad = setToNone || !p.grad ? null : p.grad.zerosLike();
    }
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        group.params.forEach((p, i) => {
          if (!p.grad) return;
          if (!sameShape(p.grad.shape, p.shape) || p.grad.dtype !== p.dtype) {
            throw new ShapeError(`${this.kind}.step: parameter '${group.keys[i]}' is ${p.dtype} ${fmt(p.shape)} but its grad is ${p.grad.dtype} ${fmt(p.grad.shape)}`);
          }
          let state = this.state.get(p);
          if (!state) this.state.set(p, (state = { step: 0, buffers: new Map() }));
          state.step++;
          this.update(p, p.grad, group, state);
        });
      }
    });
  }

  /** The state of a parameter (undefined before its first step). */
  stateOf(p: Tensor): Readonly<ParamState> | undefined {
    return this.state.get(p);
  }

  /** Everything needed to resume: steps, buffers and every group's hyper-parameters (asynchronous: buffers are read back). */
  async stateDict(): Promise<OptimizerState> {
    const meta: OptimizerMeta = { format: STATE_FORMAT, version: STATE_VERSION, optimizer: this.kind, groups: [], params: {} };
    const tensors: Record<string, SavedTensor> = {};
    for (const group of this.paramGroups) {
      const { params, keys, ...hyper } = group;
      meta.groups.push({ hyper: structuredClone(hyper), params: [...keys] });
      for (let i = 0; i < params.length; i++) {
        const state = this.state.get(params[i]!);
        if (!state) continue;
        meta.params[keys[i]!] = { step: state.step, buffers: [...state.buffers.keys()] };
        for (const [name, t] of state.buffers) {
          tensors[`${keys[i]}.${name}`] = { dtype: t.dtype, shape: [...t.shape], data: await t.data() };
        }
      }
    }
    return { meta, tensors };
  }

  /**
   * Restores a `stateDict()` into this optimizer, whose groups must hold the same parameter keys in the same order
   * (names, or positions for unnamed parameters). Hyper-parameters, including a scheduled `lr`, come from the state.
   */
  loadStateDict(saved: OptimizerState): void {
    const who = `${this.kind}.loadStateDict`;
    const { meta, tensors } = saved;
    if (meta.format !== STATE_FORMAT) throw new Error(`${who}: not optimizer state (format '${meta.format}', expected '${STATE_FORMAT}')`);
    if (meta.version !== STATE_VERSION) throw new Error(`${who}: state version ${meta.version} is not supported (this build reads version ${STATE_VERSION})`);
    if (meta.optimizer !== this.kind) throw new Error(`${who}: the state was saved by ${meta.optimizer}, not ${this.kind}`);
    if (meta.groups.length !== this.paramGroups.length) {
      throw new Error(`${who}: the state has ${meta.groups.length} parameter groups, this optimizer ${this.paramGroups.length}`);
    }
    meta.groups.forEach((g, gi) => {
      const ours = this.paramGroups[gi]!.keys;
      const bad = g.params.findIndex((k, i) => k !== ours[i]);
      if (bad >= 0 || g.params.length !== ours.length) {
        const at = bad >= 0 ? bad : Math.min(g.params.length, ours.length);
        throw new Error(`${who}: group ${gi} differs at parameter ${at}: state has '${g.params[at] ?? '(none)'}', optimizer has '${ours[at] ?? '(none)'}'`);
      }
    });
    // Build everything before changing anything, so a bad state leaves the optimizer as it was.
    const states = new Map<Tensor, ParamState>();
    const used = new Set<string>();
    for (const group of this.paramGroups) {
      group.params.forEach((p, i) => {
        const key = group.keys[i]!;
        const saved = meta.params[key];
        if (!saved) return;
        const buffers = new Map<string, Tensor>();
        for (const buffer of saved.buffers) {
          const name = `${key}.${buffer}`;
          const t = tensors[name];
          if (!t) throw new Error(`${who}: buffer '${name}' is listed in the state's metadata but missing from its tensors`);
          if (!sameShape(t.shape, p.shape) || t.dtype !== p.dtype) {
            throw new ShapeError(`${who}: '${name}' is ${t.dtype} ${fmt(t.shape)} but parameter '${key}' is ${p.dtype} ${fmt(p.shape)}`);
          }
          if (t.data.length !== p.size) throw new ShapeError(`${who}: '${name}' holds ${t.data.length} values for shape ${fmt(t.shape)}`);
          buffers.set(buffer, fromKernel('loadStateDict', p.backend.upload(t.data, t.dtype), p.shape, p.dtype, p.backend));
          used.add(name);
        }
        states.set(p, { step: saved.step, buffers });
      });
    }
    const unknown = Object.keys(tensors).filter((k) => !used.has(k));
    if (unknown.length > 0) throw new Error(`${who}: buffers for no parameter of this optimizer: ${unknown.slice(0, 5).join(', ')}`);
    const hypers = meta.groups.map((g) => structuredClone(g.hyper) as unknown as H);
    hypers.forEach((h) => this.validate(h));
    hypers.forEach((h, gi) => Object.assign(this.paramGroups[gi]!, h));
    this.state.clear();
    for (const [p, s] of states) this.state.set(p, s);
  }
}
