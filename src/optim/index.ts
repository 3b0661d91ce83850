// Optimizers and their companions: SGD, Adam, AdamW, parameter groups, gradient clipping, learning-rate schedules,
// gradient accumulation, and saved state.
export {
  Optimizer, assignInPlace, STATE_FORMAT, STATE_VERSION,
  type BaseHyper, type NamedTensor, type OptimizerMeta, type OptimizerState, type ParamGroup, type ParamGroupInput,
  type Params, type ParamState, type SavedTensor,
} from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { weightDecayGroups, defaultNoDecay, type NoDecayRule, type DecayGroup } from './groups.js';
export { clipGradNorm } from './clip.js';
export {
  LambdaLR, constantSchedule, constantScheduleWithWarmup, linearScheduleWithWarmup, cosineScheduleWithWarmup,
  type CosineOptions, type HasParamGroups, type LrLambda, type SchedulerState,
} from './schedule.js';
export { accumulateGradients } from './accumulate.js';
