#!/usr/bin/env bash
# Packs what the GPU machine needs and does not have into .device/ (ignored by git; carry it with the run tool):
# a Node binary (xz), node_modules without the build-time packages and other platforms' binaries, the Vulkan loader
# packages, and the parts of ../shared the checks read (the peers and tiny-shakespeare). The machine has PyTorch,
# transformers and safetensors but no Node and no network. Run from the repository root after `npm ci`:
#   bash scripts/device/pack.sh
# then, with the run tool: command `bash scripts/device/gpu-checks.sh`, carry [".device", "build"].
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${PRETRAIN_SHARED:-../shared}
rm -rf .device && mkdir -p .device/gl .device/shared/peers .device/shared/data/tiny-shakespeare
xz -T2 -6 -c "$(command -v node)" > .device/node.xz
# build-time only (typescript, assemblyscript, binaryen), peers of tests (tokenizers), other platforms' Dawn builds
tar -c --exclude='node_modules/typescript' --exclude='node_modules/assemblyscript' --exclude='node_modules/binaryen' \
  --exclude='node_modules/tokenizers' --exclude='node_modules/@huggingface' --exclude='node_modules/@types' \
  --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' node_modules | xz -T2 -6 > .device/node_modules.tar.xz
cp "$shared"/peers/*.py .device/shared/peers/
cp "$shared"/data/tiny-shakespeare/input.txt .device/shared/data/tiny-shakespeare/
# the Vulkan loader and GL dispatch libraries, amd64 (the NVIDIA driver's Vulkan ICD is on the machine)
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/pretrain-amd64-lists'
mkdir -p /tmp/pretrain-amd64-lists/partial
apt-get $o update -qq
(cd .device/gl && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .device .device/* | sed 's/^/packed: /'
