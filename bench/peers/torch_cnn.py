#!/usr/bin/env python3
"""LeNet-5 and ResNet-8 training steps in PyTorch, the peer of `npm run bench -- cnn`.

Needs Debian's PyTorch:  apt-get install -y python3-torch   (run with /usr/bin/python3)
Usage:
  /usr/bin/python3 torch_cnn.py [--nets lenet5,resnet8] [--batch 64 --size 28 --classes 10] [--threads 2 --steps 20 --warmup 3]
Prints one JSON line per net: {"peer": "torch-cpu", "bench": "<net>-train", "value": images/s, "ms_per_step": ...}.

The same nets as src/models/cnn.ts (and scripts/gen_cnn_fixture.py): LeNet-5 with ReLU and max pooling on 28×28
images padded by 2, and He et al.'s ResNet-8 for small images (a 16-channel 3×3 stem, three stages of one basic
block, 16/32/64 channels, 1×1 projection shortcuts, global average pooling), as torchvision builds its blocks. One
step is what bench/steps.ts times: a fresh batch of random pixels and labels, forward, cross-entropy, backward and
an AdamW update; the median step after the warm-up.
"""
import argparse, json, statistics, time
import torch, torch.nn as nn, torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--nets", default="lenet5,resnet8")
p.add_argument("--batch", type=int, default=64); p.add_argument("--size", type=int, default=28); p.add_argument("--classes", type=int, default=10)
p.add_argument("--threads", type=int, default=2); p.add_argument("--steps", type=int, default=20); p.add_argument("--warmup", type=int, default=3)
a = p.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(0)


class LeNet5(nn.Module):
    def __init__(s, classes):
        super().__init__()
        s.conv1 = nn.Conv2d(1, 6, 5, padding=2); s.conv2 = nn.Conv2d(6, 16, 5)
        s.fc1 = nn.Linear(400, 120); s.fc2 = nn.Linear(120, 84); s.fc3 = nn.Linear(84, classes)

    def forward(s, x):
        x = F.max_pool2d(F.relu(s.conv1(x)), 2)
        x = F.max_pool2d(F.relu(s.conv2(x)), 2)
        return s.fc3(F.relu(s.fc2(F.relu(s.fc1(x.flatten(1))))))


class BasicBlock(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__()
        s.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); s.bn1 = nn.BatchNorm2d(cout)
        s.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); s.bn2 = nn.BatchNorm2d(cout)
        s.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)) if stride != 1 or cin != cout else None

    def forward(s, x):
        identity = s.downsample(x) if s.downsample is not None else x
        return F.relu(s.bn2(s.conv2(F.relu(s.bn1(s.conv1(x))))) + identity)


class ResNet8(nn.Module):
    def __init__(s, classes, w=16):
        super().__init__()
        s.conv1 = nn.Conv2d(1, w, 3, 1, 1, bias=False); s.bn1 = nn.BatchNorm2d(w)
        s.layer1 = nn.Sequential(BasicBlock(w, w, 1)); s.layer2 = nn.Sequential(BasicBlock(w, 2 * w, 2)); s.layer3 = nn.Sequential(BasicBlock(2 * w, 4 * w, 2))
        s.fc = nn.Linear(4 * w, classes)

    def forward(s, x):
        x = s.layer3(s.layer2(s.layer1(F.relu(s.bn1(s.conv1(x))))))
        return s.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


for name in a.nets.split(","):
    model = {"lenet5": LeNet5, "resnet8": ResNet8}[name](a.classes)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for i in range(a.warmup + a.steps):
        t = time.perf_counter()
        x = torch.rand(a.batch, 1, a.size, a.size); y = torch.randint(0, a.classes, (a.batch,))
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        loss.item()
        if i >= a.warmup: times.append(time.perf_counter() - t)
    ms = statistics.median(times) * 1000
    print(json.dumps({"peer": "torch-cpu", "bench": f"{name}-train", "value": a.batch / (ms / 1000), "ms_per_step": ms,
                      "torch": torch.__version__, "threads": a.threads, "batch": a.batch}))
