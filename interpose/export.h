// Marks a definition as part of libdwshim.so's ABI. Everything else is hidden (-fvisibility=hidden), and the
// version script keeps only cudnn* and dwshim_* global.
#pragma once
#define DWSHIM_EXPORT extern "C" __attribute__((visibility("default")))
