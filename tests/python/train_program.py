"""An unmodified training script: a small MobileNet-like network (depthwise-separable blocks, fp32 NCHW) for
20 SGD steps on fixed random data. Prints one JSON line: the loss of every step and the median step time."""
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def block(c_in, c_out, stride):
    return nn.Sequential(
        nn.Conv2d(c_in, c_in, 3, stride, 1, groups=c_in, bias=False), nn.BatchNorm2d(c_in), nn.ReLU(inplace=True),
        nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


def main():
    torch.manual_seed(0)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
        block(32, 64, 1), block(64, 128, 2), block(128, 128, 1), block(128, 256, 2), block(256, 256, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10)).cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    images = torch.randn(64, 3, 224, 224, device="cuda")
    labels = torch.randint(0, 10, (64,), device="cuda")
    losses, times = [], []
    for _ in range(20):
        torch.cuda.synchronize()
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        times.append(time.perf_counter() - start)
    steady = sorted(times[5:])
    print(json.dumps({"losses": losses, "step_ms": 1000 * steady[len(steady) // 2]}))


if __name__ == "__main__":
    main()
