// Learning-rate schedules: a LambdaLR-like scheduler over an optimizer's groups, and the Hugging Face schedule
// functions (constant, linear warmup then linear decay, cosine with warmup and an optional floor).

/** A multiplier of each group's base learning rate, given the number of scheduler steps taken. */
export type LrLambda = (step: number) => number;

/** What a scheduler drives: anything with groups that have a learning rate (every Optimizer). */
export interface HasParamGroups {
  readonly paramGroups: readonly { lr: number }[];
}

/** A scheduler's saved state (JSON-able). */
export interface SchedulerState {
  lastEpoch: number;
  baseLrs: number[];
}

/**
 * torch.optim.lr_scheduler.LambdaLR: sets each group's lr to its base lr times `lambda(step)`. The constructor
 * applies step 0; call `step()` after each `optimizer.step()`.
 */
export class LambdaLR {
  /** Scheduler steps taken (PyTorch's `last_epoch`). */
  lastEpoch = 0;
  /** Each group's learning rate when the scheduler was made. */
  baseLrs: number[];
  private readonly lambdas: LrLambda[];

  constructor(readonly optimizer: HasParamGroups, lambdas: LrLambda | readonly LrLambda[]) {
    const groups = optimizer.paramGroups;
    if (Array.isArray(lambdas) && lambdas.length !== groups.length) {
      throw new Error(`LambdaLR: got ${lambdas.length} lr lambdas for ${groups.length} parameter groups`);
    }
    this.lambdas = Array.isArray(lambdas) ? [...lambdas] : groups.map(() => lambdas as LrLambda);
    this.baseLrs = groups.map((g) => g.lr);
    this.apply();
  }

  /** Advances one step and sets the groups' learning rates. */
  step(): void {
    this.lastEpoch++;
    this.apply();
  }

  /** The learning rates the last step set, one per group. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The scheduler's position and base rates; the lambdas themselves are code and are not saved. */
  stateDict(): SchedulerState {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  /** Restores a `stateDict()` and sets the groups' learning rates to match it (so load order does not matter). */
  loadStateDict(state: SchedulerState): void {
    if (state.baseLrs.length !== this.baseLrs.length) {
      throw new Error(`LambdaLR.loadStateDict: the state has ${state.baseLrs.length} groups, the optimizer ${this.baseLrs.length}`);
    }
    this.lastEpoch = state.lastEpoch;
    this.baseLrs = [...state.baseLrs];
    this.apply();
  }

  private apply(): void {
    this.optimizer.paramGroups.forEach((g, i) => { g.lr = this.baseLrs[i]! * this.lambdas[i]!(this.lastEpoch); });
  }
}

/** Linear ramp from 0 to 1 over the warmup steps (HF's `step / max(1, warmup)`). */
function warmupFactor(step: number, warmup: number): number {
  return step / Math.max(1, warmup);
}

/** A constant learning rate (HF get_constant_schedule). */
export function constantSchedule(): LrLambda {
  return () => 1;
}

/** Linear warmup over `warmup` steps, then constant (HF get_constant_schedule_with_warmup). */
export function constantScheduleWithWarmup(warmup: number): LrLambda {
  return (step) => (step < warmup ? warmupFactor(step, warmup) : 1);
}

/** Linear warmup over `warmup` steps, then linear decay to 0 at `total` steps (HF get_linear_schedule_with_warmup). */
export function linearScheduleWithWarmup(warmup: number, total: number): LrLambda {
  return (step) => (step < warmup ? warmupFactor(step, warmup) : Math.max(0, (total - step) / Math.max(1, total - warmup)));
}

/** Options of the cosine schedule. */
export interface CosineOptions {
  /** Number of cosine waves over the decay (0.5: from the peak down to the floor once). */
  numCycles?: number;
  /** The floor, as a fraction of the peak lr (HF's min_lr_rate; nanoGPT uses 0.1). */
  minLrRate?: number;
}

/**
 * Linear warmup over `warmup` steps, then a cosine decay to `minLrRate` at `total` steps
 * (HF get_cosine_schedule_with_warmup, or get_cosine_with_min_lr_schedule_with_warmup with a floor).
 */
export function cosineScheduleWithWarmup(warmup: number, total: number, options: CosineOptions = {}): LrLambda {
  const { numCycles = 0.5, minLrRate = 0 } = options;
  if (!(minLrRate >= 0 && minLrRate <= 1)) throw new Error(`cosineScheduleWithWarmup: minLrRate must be in [0, 1], got ${minLrRate}`);
  return (step) => {
    if (step < warmup) return warmupFactor(step, warmup);
    const progress = (step - warmup) / Math.max(1, total - warmup);
    const factor = 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress));
    return Math.max(0, factor * (1 - minLrRate) + minLrRate);
  };
}
