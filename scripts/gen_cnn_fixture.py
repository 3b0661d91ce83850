#!/usr/bin/python3
"""Writes the PyTorch fixtures that test/models/cnn.test.ts checks src/models/cnn.ts against: a LeNet-5 and a
ResNet-8 built as torchvision builds its resnets (the same module names), each as a model directory our loader reads,
and what PyTorch computes with it.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/gen_cnn_fixture.py
For each net it writes test/fixtures/cnn/<name>/:
  config.json        model_type "cnn" and the architecture, in our config's field names
  model.safetensors  the PyTorch state_dict (num_batches_tracked as I64), random weights and running statistics
  expected.safetensors
    input [N, C, S, S], labels (I64) [N]
    eval.logits        the net in eval mode (normalised by the running statistics)
    train.logits, train.loss   one forward pass in training mode (batch statistics)
    grad.<param>       d(train.loss)/d(param) for every parameter
    buffer.<name>      every buffer after that forward pass (the running statistics moved by momentum 0.1)
The nets are small (LeNet-5 at 16×16, a ResNet-8 of width 8 at 12×12) to keep the fixtures small. safetensors is
written here directly (the format is an 8-byte header length, a JSON header and the raw little-endian data), since
Debian has no python3-safetensors.
"""
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'cnn')


class LeNet5(nn.Module):
    def __init__(self, channels, size, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        side = (size // 2 - 4) // 2
        self.fc1 = nn.Linear(16 * side * side, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc3(F.relu(self.fc2(x)))


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = self.downsample(x) if self.downsample is not None else x
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + identity)


class ResNet(nn.Module):
    """He et al.'s 6n+2 nets for small images, named as torchvision's resnets."""

    def __init__(self, channels, classes, depth, width):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)

        def stage(cin, cout, stride):
            return nn.Sequential(*[BasicBlock(cin if i == 0 else cout, cout, stride if i == 0 else 1) for i in range(n)])

        self.layer1 = stage(width, width, 1)
        self.layer2 = stage(width, 2 * width, 2)
        self.layer3 = stage(2 * width, 4 * width, 2)
        self.fc = nn.Linear(4 * width, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


DTYPES = {torch.float32: 'F32', torch.int64: 'I64'}


def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        data = t.numpy().tobytes()
        header[name] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(',', ':')).encode()
    head += b' ' * (-len(head) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(head)))
        f.write(head)
        for c in chunks:
            f.write(c)


def randomise(net):
    """Random weights, and random running statistics so that eval mode differs from training mode."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.randn(p.shape) * (0.3 if p.dim() > 1 else 0.1) + (1.0 if name.endswith('bn1.weight') or name.endswith('bn2.weight') else 0.0))
        for name, b in net.named_buffers():
            if name.endswith('running_mean'):
                b.copy_(torch.randn(b.shape) * 0.2)
            elif name.endswith('running_var'):
                b.copy_(torch.rand(b.shape) + 0.5)
            elif name.endswith('num_batches_tracked'):
                b.fill_(3)


def fixture(name, net, architecture, config, channels, size, batch=4, classes=5):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    randomise(net)
    labels = [str(i) for i in range(classes)]
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump({'architectures': [architecture], 'model_type': 'cnn', **config, 'num_channels': channels, 'image_size': size,
                   'id2label': {str(i): l for i, l in enumerate(labels)}, 'label2id': {l: i for i, l in enumerate(labels)},
                   'torch_dtype': 'float32'}, f, indent=2)
        f.write('\n')
    write_safetensors(os.path.join(d, 'model.safetensors'), net.state_dict())
    x = torch.rand(batch, channels, size, size)
    y = torch.randint(0, classes, (batch,))
    net.eval()
    expected = {'input': x, 'labels': y, 'eval.logits': net(x)}
    net.train()
    logits = net(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    expected.update({'train.logits': logits, 'train.loss': loss.reshape(())})
    expected.update({'grad.' + k: p.grad for k, p in net.named_parameters()})
    expected.update({'buffer.' + k: b for k, b in net.named_buffers()})
    write_safetensors(os.path.join(d, 'expected.safetensors'), expected)
    print('%-8s %7d bytes' % (name, sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))))


def main():
    torch.manual_seed(17)
    fixture('lenet5', LeNet5(1, 16, 5), 'LeNet5', {}, channels=1, size=16)
    fixture('resnet8', ResNet(3, 5, 8, 8), 'ResNet', {'depth': 8, 'base_width': 8}, channels=3, size=12)


if __name__ == '__main__':
    main()
