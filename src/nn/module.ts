// Module and Parameter: a tree of named parameters (the names are checkpoint keys) with train/eval modes.
import { ShapeError, fmt, sameShape } from '../tensor/shape.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor, fromKernel } from '../tensor/tensor.js';

/** A trainable tensor owned by a module. */
export class Parameter extends Tensor {
  constructor(value: Tensor) {
    super(value.storage, value.shape, value.strides, value.offset, value.dtype);
    this.requiresGrad = true;
  }
}

/**
 * A tensor a module keeps besides its parameters, such as a batch norm's running statistics (PyTorch's buffers): in
 * the state dict under its field's name, saved and loaded with the parameters, updated in place, never trained.
 */
export class Buffer extends Tensor {
  constructor(value: Tensor) {
    super(value.storage, value.shape, value.strides, value.offset, value.dtype);
  }
}

/**
 * The base of every layer and model. Parameters and submodules are found by walking the module's own fields
 * (arrays of modules give `name.0`, `name.1`, ...), as PyTorch registers them on assignment, so field names are the
 * checkpoint keys: a BERT field `attention.self.query.weight` is the Hugging Face key of the same name.
 */
export abstract class Module {
  /** Training mode: dropout is active. */
  training = true;

  /** Every submodule directly owned, with its field name. */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Module) out.push([key, value]);
      else if (Array.isArray(value)) value.forEach((v, i) => { if (v instanceof Module) out.push([`${key}.${i}`, v]); });
    }
    return out;
  }

  /** Every parameter in the tree, with its dotted name, in definition order. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Parameter) out.push([prefix + key, value]);
    }
    for (const [name, child] of this.namedChildren()) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  /** Every buffer in the tree (running statistics), with its dotted name, in definition order. */
  namedBuffers(prefix = ''): [string, Buffer][] {
    const out: [string, Buffer][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Buffer) out.push([prefix + key, value]);
    }
    for (const [name, child] of this.namedChildren()) out.push(...child.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  /** Every parameter in the tree. */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every module in the tree (this one first), with its dotted name. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(`${prefix}${name}.`));
    return out;
  }

  /** Switches this module and its children to training (or evaluation) mode. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  /**
   * Sets requiresGrad on every parameter in the tree (PyTorch's requires_grad_): false freezes them, so the
   * trainer gives them no optimizer state and, below the lowest trainable layer, autograd records nothing.
   */
  requireGrad(on = true): this {
    for (const p of this.parameters()) p.requiresGrad = on;
    return this;
  }

  /** Switches to evaluation mode (dropout off). */
  eval(): this {
    return this.train(false);
  }

  /** The parameters, then the buffers, by name (PyTorch's state_dict). */
  stateDict(): Map<string, Tensor> {
    return new Map<string, Tensor>([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies `state`'s tensors into the parameters and buffers of the same names, in place (as PyTorch's `load_state_dict`), so
   * optimizers and anything else holding the parameters see the loaded values. Shapes must match; every shape is
   * checked before anything is written. With `strict`, a missing or unexpected key is an error; otherwise they are
   * returned for the caller to report.
   */
  loadStateDict(state: Map<string, Tensor>, strict = true): { missing: string[]; unexpected: string[] } {
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !state.has(k));
    const unexpected = [...state.keys()].filter((k) => !own.has(k));
    if (strict && (missing.length || unexpected.length)) {
      throw new Error(`loadStateDict: missing keys [${missing.join(', ')}], unexpected keys [${unexpected.join(', ')}]`);
    }
    const writes: [Tensor, Tensor][] = [];
    for (const [name, value] of state) {
      const current = own.get(name);
      if (!current) continue;
      if (!sameShape(current.shape, value.shape)) {
        throw new ShapeError(`loadStateDict: '${name}' has shape ${fmt(value.shape)} in the state but ${fmt(current.shape)} in the model`);
      }
      writes.push([current, value]);
    }
    noGrad(() => {
      for (const [param, value] of writes) {
        let v = value.cast(param.dtype);
        if (v.backend !== param.backend) v = fromKernel('loadStateDict', param.backend.upload(v.dataSync(), param.dtype), param.shape, param.dtype, param.backend);
        param.backend.assign(param.view, v.view);
      }
    });
    return { missing, unexpected };
  }

  /** Replaces the parameter at a dotted name. */
  setParameter(name: string, value: Parameter): void {
    const parts = name.split('.');
    let owner: unknown = this;
    for (const part of parts.slice(0, -1)) owner = (owner as Record<string, unknown>)[part];
    const field = parts[parts.length - 1]!;
    if (!(owner instanceof Module) || !((owner as unknown as Record<string, unknown>)[field] instanceof Parameter)) {
      throw new Error(`setParameter: no parameter named '${name}'`);
    }
    (owner as unknown as Record<string, unknown>)[field] = value;
  }

  /** Calls `fn` on every module in the tree (children first, as in PyTorch's `apply`). */
  apply(fn: (m: Module, name: string) => void): this {
    const all = this.namedModules();
    for (let i = all.length - 1; i >= 0; i--) fn(all[i]![1], all[i]![0]);
    return this;
  }

  /** Total number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }
}
