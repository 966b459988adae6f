"""Writes the depthwise convolutions of torchvision models, as run at 224 x 224 and a given batch, in the suite's
case format (bench/suite.csv): one row per distinct shape, its note naming the models and how many layers of
each have it. Runs on a CPU.

Usage: python3 bench/model_layers.py [--batch 64] [--models mobilenet_v3_large,efficientnet_b0,convnext_tiny,
       mobilenet_v2] > bench/models.csv
"""
import argparse
import collections


def depthwise_layers(name):
    """(C, H, W, kernel, stride, padding, dilation, multiplier) of each depthwise conv the model runs, in order."""
    import torch
    import torchvision

    model = getattr(torchvision.models, name)(num_classes=100).eval()
    found = []

    def record(module, inputs, _):
        x = inputs[0]
        if module.groups > 1 and module.groups == x.shape[1]:
            found.append((x.shape[1], x.shape[2], x.shape[3], module.kernel_size, module.stride, module.padding,
                          module.dilation, module.out_channels // module.groups))

    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(torch.randn(1, 3, 224, 224))
    for hook in hooks:
        hook.remove()
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--models", default="mobilenet_v3_large,efficientnet_b0,convnext_tiny,mobilenet_v2")
    args = parser.parse_args()
    shapes = collections.OrderedDict()
    for name in args.models.split(","):
        for shape in depthwise_layers(name):
            shapes.setdefault(shape, collections.Counter())[name] += 1
    print("# Depthwise convolutions of torchvision models at 224 x 224, batch %d, one row per distinct shape "
          "(bench/model_layers.py). Run like bench/suite.csv." % args.batch)
    print("# name,N,C,H,W,kh,kw,stride_h,stride_w,pad_h,pad_w,dil_h,dil_w,multiplier,note")
    for (c, h, w, k, s, p, d, m), models in shapes.items():
        name = "c%d_%dx%d_k%ds%d" % (c, h, w, k[0], s[0])
        note = " ".join("%s x%d" % item for item in models.items())
        print(",".join(str(v) for v in (name, args.batch, c, h, w, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1],
                                          m, note)))


if __name__ == "__main__":
    main()
