#!/usr/bin/env bash
# The checks that need the GPU machine, as one command of the run tool (after scripts/device/pack.sh here):
#   command: bash scripts/device/gpu-checks.sh [PART ...]     carry: [".device", "build"]     timeout_s: 600
# PARTs, in the default order (a call is limited to 10 minutes and a session to 15 minutes of device time, so
# the first call runs `hf webgpu`, a later one `shakespeare-ours`, another `shakespeare-peer`):
#   hf                transformers fixtures (scripts/gen_hf_fixtures.py → test/fixtures/hf, back as
#                     $OUT/hf-fixtures.tar.gz), the fixture test, and the round trip (scripts/check-hf-roundtrip.ts)
#   webgpu            npm run bench -- webgpu (GEMM TFLOP/s; BERT-mini and GPT-mini against torch_gpu_hf)
#   shakespeare-ours  nanoGPT's GPU config on the webgpu backend (bench shakespeare --config gpu --skip-peer)
#   shakespeare-peer  the same config in PyTorch on CUDA, strict fp32 (bench/peers/nanogpt_char.py)
# Everything printed goes to $OUT/checks.log too; results come back under $OUT.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/pretrain-out}
mkdir -p "$out"
exec > >(tee -a "$out/checks.log") 2>&1
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(hf webgpu)

# Node (the machine has none), the packages, the Vulkan loader for Dawn
xz -dc .device/node.xz > /tmp/node && chmod +x /tmp/node
mkdir -p /tmp/pretrain-bin && ln -sf /tmp/node /tmp/pretrain-bin/node && export PATH=/tmp/pretrain-bin:$PATH
[ -d node_modules/tsx ] || tar -xJf .device/node_modules.tar.xz
for f in .device/gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export XDG_RUNTIME_DIR=$(mktemp -d)
# the native CPU kernels were built for this side's processor; the WebAssembly ones run anywhere
export PRETRAIN_NATIVE=0 PRETRAIN_SHARED=$PWD/.device/shared PRETRAIN_PYTHON=$(command -v python3)
echo "node $(node --version); $(nvidia-smi -L 2>/dev/null | head -1); python $($PRETRAIN_PYTHON -c 'import torch, transformers; print(torch.__version__, transformers.__version__)')"

step() { # name, seconds, command...
  local name=$1 limit=$2; shift 2
  echo "== $name (at most ${limit} s) $(date -u +%T)"
  timeout "$limit" "$@"; local rc=$?
  echo "== $name: exit $rc $(date -u +%T)"
  return $rc
}
for part in "${parts[@]}"; do
  case $part in
    hf)
      step fixtures 120 "$PRETRAIN_PYTHON" scripts/gen_hf_fixtures.py --out test/fixtures/hf && tar -czf "$out/hf-fixtures.tar.gz" test/fixtures/hf
      step fixture-test 120 node --import tsx --test test/io/hf-fixtures.test.ts
      step roundtrip 120 node --import tsx scripts/check-hf-roundtrip.ts --json "$out/hf-roundtrip.json" ;;
    webgpu)
      step webgpu 330 node --import tsx bench/run.ts webgpu && cp bench/results/webgpu.json "$out/" ;;
    shakespeare-ours)
      step shakespeare-ours 560 node --import tsx bench/run.ts shakespeare --config gpu --skip-peer && cp bench/results/shakespeare-gpu.json "$out/" ;;
    shakespeare-peer)
      step shakespeare-peer 560 "$PRETRAIN_PYTHON" bench/peers/nanogpt_char.py --data .device/shared/data/tiny-shakespeare/input.txt \
        --layers 6 --heads 6 --dim 384 --block 256 --batch 64 --iters 5000 --dropout 0.2 --device cuda | tee "$out/shakespeare-gpu-peer.json" ;;
    *) echo "unknown part $part (hf, webgpu, shakespeare-ours, shakespeare-peer)"; exit 2 ;;
  esac
done
