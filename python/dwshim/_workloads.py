"""The training workload dwshim-demo and bench/bench_train.py share: a torchvision model with random weights and
an SGD step on random images."""


def torchvision_training(name, batch, channels_last, bf16, wrap=None):
    """(model, images, step): the model (100 classes) on the GPU in the chosen memory format, wrapped by wrap
    (DistributedDataParallel, say) where given, a batch of random images, and step(), which runs one SGD step
    (bf16 autocast where asked) and returns its loss."""
    import torch
    import torch.nn.functional as F
    import torchvision

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = getattr(torchvision.models, name)(num_classes=100).cuda().to(memory_format=fmt)
    if wrap is not None:
        model = wrap(model)
    images = torch.randn(batch, 3, 224, 224, device="cuda").contiguous(memory_format=fmt)
    labels = torch.randint(0, 100, (batch,), device="cuda")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss

    return model, images, step
