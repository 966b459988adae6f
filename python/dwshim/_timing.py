"""GPU timing shared by dwshim-demo and the benchmarks: CUDA-event medians and profiler kernel time."""


def median_ms(fn, repeats=20, gpu_only=False):
    """Median time of fn() in ms from CUDA events, after 3 warm-up calls. With gpu_only, each timed call is queued
    behind a 1 ms GPU delay, so its host work overlaps the delay and the events time the GPU work alone (as in a
    program whose GPU is busy); without it, host work that leaves the GPU idle counts too."""
    import torch

    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        if gpu_only:
            torch.cuda._sleep(2000000)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return sorted(times)[len(times) // 2]


def kernel_ms(profile, name_contains=""):
    """Total ms of the CUDA kernels a torch.profiler run recorded (those whose name contains name_contains)."""
    import torch

    total_us = 0.0
    for event in profile.events():
        if event.device_type == torch.autograd.DeviceType.CUDA and name_contains in event.name:
            total_us += getattr(event, "device_time", None) or event.cuda_time
    return total_us / 1000.0
