// Reverse-mode autograd on a tape: each op's output remembers its inputs and a backward rule; `backward()` walks
// them in reverse topological order and then drops the tape, so intermediates are released without dispose calls.
import { ShapeError, sameShape } from './shape.js';
import type { Tensor } from './tensor.js';

/** One recorded op: its inputs and the rule that maps the output's gradient to the inputs' gradients. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Gradients for each input (null where an input needs none), computed with grad recording off. */
  readonly backward: (grad: Tensor) => readonly (Tensor | null)[];
}

let gradEnabled = true;
let anomalyDetection = false;

/** Runs `fn` without recording ops on the tape (like `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Runs an async function with op recording off until its promise settles (`noGrad` ends at the function's first
 * await). Recording is one global switch, so other async work that runs in between is not recorded either: use it
 * for evaluation between training steps, not beside a training loop that runs concurrently.
 */
export async function noGradAsync<T>(fn: () => Promise<T>): Promise<T> {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return await fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Whether ops are being recorded. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Turns anomaly detection on or off: every op's output (and every gradient) is checked for NaN and Inf. */
export function setAnomalyDetection(on: boolean): void {
  anomalyDetection = on;
}

/** Whether anomaly detection is on. */
export function isAnomalyDetectionEnabled(): boolean {
  return anomalyDetection;
}

/** Thrown in anomaly mode by the first op whose output holds NaN or Inf. */
export class AnomalyError extends Error {
  override name = 'AnomalyError';
}

/** Sets up `out` to receive gradients through `backward` when grad is on and any input requires grad. */
export function record(op: string, out: Tensor, inputs: readonly Tensor[], backward: GradNode['backward']): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
    out.gradOp = op;
  }
  return out;
}

/** Tensors reachable from `root` through recorded nodes, in topological order (inputs before outputs). */
function topoSort(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: the tape of a long LSTM can be deeper than the JS stack.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i]!;
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/** Runs a node's backward rule; in anomaly mode, an op inside the rule that makes NaN/Inf is named with its rule. */
function runRule(node: GradNode, g: Tensor): readonly (Tensor | null)[] {
  try {
    return node.backward(g);
  } catch (e) {
    if (e instanceof AnomalyError) throw new AnomalyError(`backward of ${node.op}: ${e.message}`);
    throw e;
  }
}

/** Backpropagates `grad` (default: 1 for a scalar) from `root` into the `.grad` of every leaf that requires grad. */
export function backward(root: Tensor, grad: Tensor | undefined, onCheck: (op: string, g: Tensor) => void): void {
  if (!root.requiresGrad) throw new Error('backward: the tensor does not require grad (no input of it requires grad)');
  if (!grad && root.size !== 1) throw new Error(`backward: grad can be implied only for a scalar, got shape [${root.shape.join(', ')}]`);
  if (grad && !sameShape(grad.shape, root.shape)) {
    throw new ShapeError(`backward: grad shape [${grad.shape.join(', ')}] differs from the output's shape [${root.shape.join(', ')}]`);
  }
  const order = topoSort(root);
  const grads = new Map<Tensor, Tensor>();
  grads.set(root, grad ?? root.onesLike());
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      const g = grads.get(t);
      grads.delete(t);
      if (!g) continue;
      const node = t.node;
      if (!node) {
        if (t.gradOp) throw new Error(`backward: the graph through '${t.gradOp}' was already used by an earlier backward() and released`);
        t.grad = t.grad ? t.grad.add(g) : g;
        continue;
      }
      const inputGrads = runRule(node, g);
      // Release the tape as we go: the node's closures hold the op's saved intermediates.
      t.node = null;
      node.inputs.forEach((input, i) => {
        const gi = inputGrads[i];
        if (!gi || !input.requiresGrad) return;
        if (anomalyDetection) onCheck(`backward of ${node.op}`, gi);
        const acc = grads.get(input);
        grads.set(input, acc ? acc.add(gi) : gi);
      });
    }
  } finally {
    gradEnabled = prev;
  }
}
