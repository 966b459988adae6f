/* dwshim's own C entry points (everything else libdwshim.so exports is cuDNN's API). */
#ifndef DWSHIM_H
#define DWSHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum dwshim_dtype { DWSHIM_FLOAT = 0, DWSHIM_HALF = 1, DWSHIM_BFLOAT16 = 2 };

enum dwshim_status {
    DWSHIM_OK = 0,
    DWSHIM_CANNOT_IMPLEMENT = 1, /* nothing was launched: use another implementation */
    DWSHIM_LAUNCH_FAILED = 2,
    DWSHIM_BAD_ARGUMENT = 3,
    DWSHIM_NOT_FASTER = 4 /* nothing was launched: dwshim's kernel was not measured faster for this shape */
};

/* y = alpha * conv(x, filter) + bias + beta * y for a depthwise (groups == C) 2-D cross-correlation.
 * Sizes are {N, C, H, W} and {N, K, P, Q} with K a multiple of C; strides are in elements, in the same order;
 * the filter is packed [K][kh][kw]; bias is [K] or null. geometry = {kh, kw, stride_h, stride_w, pad_h, pad_w,
 * dil_h, dil_w}. Launches on `stream` (a cudaStream_t) and returns without synchronising. */
int dwshim_conv2d_forward(int dtype, const int64_t x_sizes[4], const int64_t x_strides[4], const void* x,
                          const void* filter, const void* bias, const int64_t geometry[8], const int64_t y_sizes[4],
                          const int64_t y_strides[4], void* y, float alpha, float beta, void* stream);

/* dwshim_conv2d_forward for a convolution PyTorch would run on its own CUDA depthwise kernel: launches only
 * where dwshim's kernel was measured faster than that one, else returns DWSHIM_NOT_FASTER (or
 * DWSHIM_CANNOT_IMPLEMENT) without launching. DWSHIM_ROUTE=all launches whatever can be implemented. */
int dwshim_conv2d_forward_if_faster(int dtype, const int64_t x_sizes[4], const int64_t x_strides[4],
                                    const void* x, const void* filter, const void* bias, const int64_t geometry[8],
                                    const int64_t y_sizes[4], const int64_t y_strides[4], void* y, float alpha,
                                    float beta, void* stream);

/* The gradients of dwshim_conv2d_forward's convolution, with its sizes, strides and geometry (x describes dx, y
 * describes dy). dx = alpha * dL/dx + beta * dx, from dy and the filter. */
int dwshim_conv2d_backward_data(int dtype, const int64_t x_sizes[4], const int64_t x_strides[4], void* dx,
                                const void* filter, const int64_t geometry[8], const int64_t y_sizes[4],
                                const int64_t y_strides[4], const void* dy, float alpha, float beta, void* stream);

/* Device workspace, in bytes, that dwshim_conv2d_backward_filter needs for these sizes (*bytes), a function of the
 * sizes alone; DWSHIM_CANNOT_IMPLEMENT where dwshim's kernels cannot compute the filter gradient. */
int dwshim_conv2d_backward_filter_workspace_size(int dtype, const int64_t x_sizes[4], const int64_t x_strides[4],
                                                 const int64_t geometry[8], const int64_t y_sizes[4],
                                                 const int64_t y_strides[4], size_t* bytes);

/* dfilter = alpha * dL/dfilter + beta * dfilter, from x and dy, added in a fixed order (bitwise reproducible);
 * `workspace` holds at least the bytes the query above gave, 16-byte aligned, until the launched work is done. */
int dwshim_conv2d_backward_filter(int dtype, const int64_t x_sizes[4], const int64_t x_strides[4], const void* x,
                                  void* dfilter, const int64_t geometry[8], const int64_t y_sizes[4],
                                  const int64_t y_strides[4], const void* dy, float alpha, float beta,
                                  void* workspace, size_t workspace_bytes, void* stream);

/* The two gradients for a convolution PyTorch would run on its own CUDA depthwise kernel (its
 * convolution_backward): as above, but launching only where dwshim's kernel was measured faster than that one,
 * else DWSHIM_NOT_FASTER (or DWSHIM_CANNOT_IMPLEMENT) without launching. DWSHIM_ROUTE=all launches whatever can
 * be implemented. */
int dwshim_conv2d_backward_data_if_faster(int dtype, const int64_t x_sizes[4], const int64_t x_strides[4],
                                          void* dx, const void* filter, const int64_t geometry[8],
                                          const int64_t y_sizes[4], const int64_t y_strides[4], const void* dy,
                                          float alpha, float beta, void* stream);
int dwshim_conv2d_backward_filter_if_faster(int dtype, const int64_t x_sizes[4], const int64_t x_strides[4],
                                            const void* x, void* dfilter, const int64_t geometry[8],
                                            const int64_t y_sizes[4], const int64_t y_strides[4], const void* dy,
                                            float alpha, float beta, void* workspace, size_t workspace_bytes,
                                            void* stream);

/* What the *_if_faster entry point of direction `op` (0 forward, 1 data gradient, 2 filter gradient) would do
 * with these sizes, without launching or counting a decision: DWSHIM_OK where it would launch, else the status it
 * would return. For op 2 where it would launch, *workspace_bytes (if not null) gets the workspace it needs. Lets a
 * caller allocate the outputs of the calls dwshim takes only. */
int dwshim_conv2d_if_faster_query(int dtype, int op, const int64_t x_sizes[4], const int64_t x_strides[4],
                                  const int64_t geometry[8], const int64_t y_sizes[4], const int64_t y_strides[4],
                                  size_t* workspace_bytes);

/* Records in the tuning cache (README, "Tuning for your GPU") that on the current GPU dwshim took dwshim_ms where
 * PyTorch's own depthwise kernel took torch_ms for this convolution, in direction `op` (0 forward, 1 data
 * gradient, 2 filter gradient; sizes as above): the *_if_faster entry points then decide it by these timings.
 * DWSHIM_OK when written; DWSHIM_BAD_ARGUMENT or DWSHIM_CANNOT_IMPLEMENT for sizes dwshim does not take; else
 * DWSHIM_CANNOT_IMPLEMENT, nothing written (tuning off or read-only, tensors not packed, no GPU identity, a time
 * that is not positive, a file that cannot be written). */
int dwshim_tune_record_torch_native(int dtype, int op, const int64_t x_sizes[4], const int64_t x_strides[4],
                                    const int64_t geometry[8], const int64_t y_sizes[4], const int64_t y_strides[4],
                                    double dwshim_ms, double torch_ms);

/* Path of the real cuDNN that forwarded calls go to, or "" when none was found. */
const char* dwshim_real_cudnn_path(void);

/* Convolutions executed so far that ended with `reason` (0 = routed; see dwshim_reason_text). */
uint64_t dwshim_decision_count(int reason);

/* Text of a reason code, or null past the last one. */
const char* dwshim_reason_text(int reason);

#ifdef __cplusplus
}
#endif

#endif
