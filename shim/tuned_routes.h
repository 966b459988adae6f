// Routing decisions measured on the user's own GPU: a file of dwshim-against-replaced timings per problem and
// GPU identity (name, compute capability, SM count, driver, cuDNN and dwshim versions), filled ahead of time by
// dwshim-tune (the bench harness timing both paths through the same API) and consulted before the static rules
// of route_policy.cpp and gradient_policy.cpp, which were measured on other GPUs. Where the file says nothing
// about a problem on this GPU, the static rules decide. Settings (settings.h): DWSHIM_TUNE_CACHE, DWSHIM_TUNE,
// DWSHIM_TUNE_IDENTITY.
//
// The file is CSV, one measurement a line ('#' starts a comment), the last line for a problem winning:
//   identity,api,op,dtype,layout,n,c,h,w,k,p,q,r,s,stride_h,stride_w,pad_h,pad_w,dil_h,dil_w,fused,dwshim_ms,replaced_ms
// api: legacy | backend | torch; op: fwd | dgrad | wgrad; dtype: f32 | f16 | bf16; layout: nchw | nhwc (packed
// tensors only); sizes in their forward roles (depthwise_params.h); fused: 1 when a bias, activation or beta
// term rides along. A problem is routed when dwshim took at least 3% less time than the path it replaces.
#pragma once

#include "kernels/depthwise_params.h"
#include "route_policy.h"

namespace dwshim {

enum class TunedRoute { kUnknown, kFaster, kSlower };

// What the file says about this problem on the current device. Read-only and allocation-free once the file is
// loaded (on the first call); the current device's identity is read once per device.
TunedRoute tuned_route(Api api, const DepthwiseParams& params);

// Appends a measurement for the current device to the file and to the decisions in memory. False, writing
// nothing, when tuning is off or read-only, the tensors are not packed, the device has no identity or a time is not
// positive; false too when the file cannot be written (the decision is kept in memory).
bool record_tuned_route(Api api, const DepthwiseParams& params, double dwshim_ms, double replaced_ms);

// Whether the file can describe the problem (packed NCHW or NHWC tensors).
bool tunable(Api api, const DepthwiseParams& params);

// For measuring on first sight (first_sight.h): true once per process for a problem that neither the file nor
// this process has a decision for on the current device; false for every later call, from any thread, so a
// problem first seen where it could not be measured keeps the static rules' decision for the whole process.
bool claim_unmeasured(Api api, const DepthwiseParams& params);

// Keeps a first-sight measurement for this process and appends it to the file unless tuning is read-only; true
// when it was written there.
bool remember_measured_route(Api api, const DepthwiseParams& params, double dwshim_ms, double replaced_ms);

// With DWSHIM_TUNE_RECORD set, appends the problem to that file the first time the process sees it, as a line of
// bench/suite.csv's format (name, N, C, H, W, kh, kw, strides, pads, dilations, multiplier) whose note names the
// API, direction, dtype and layout ("backend wgrad bf16 nhwc"): dwshim-tune --program measures what a program
// calls. Packed tensors with symmetric padding only (what that format describes). Without DWSHIM_TUNE_RECORD it
// returns at once; with it, it takes a lock and writes a file.
void record_problem(Api api, const DepthwiseParams& params);

}  // namespace dwshim
