// A host-side answer about the current device (what a kernel's code supports, how many of its blocks fit) that a
// launch asks for on every call but that only changes with the device: computed once per device, then read.
#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <mutex>

namespace dwshim {

// query(device)'s answer for the current device, computed on the first call for that device; `unknown` where the
// current device cannot be read. One cache per Query type: a lambda written inside a function template is a new
// type in each instantiation, so each instantiation keeps its own answers.
template <typename T, typename Query>
T per_device_cached(T unknown, Query query) {
    constexpr int kMaxDevices = 64;
    int device = -1;
    if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) return unknown;
    static std::array<std::once_flag, kMaxDevices> once;
    static std::array<T, kMaxDevices> answers{};
    std::call_once(once[device], [&] { answers[device] = query(device); });
    return answers[device];
}

}  // namespace dwshim
