#include "real_cudnn.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace dwshim {
namespace {

// Base address of the object that defines `symbol` in `handle`'s lookup scope, or null.
const void* defining_object(void* handle, const char* symbol) {
    void* address = dlsym(handle, symbol);
    Dl_info info{};
    if (address == nullptr || dladdr(address, &info) == 0) return nullptr;
    return info.dli_fbase;
}

const void* our_object() {
    Dl_info info{};
    return dladdr(reinterpret_cast<const void*>(&real_cudnn), &info) != 0 ? info.dli_fbase : nullptr;
}

// Opens `name` and keeps it only if it is a cuDNN that is not dwshim itself.
void* open_candidate(const char* name, int flags, std::string* why) {
    dlerror();
    void* handle = dlopen(name, flags);
    if (handle == nullptr) {
        const char* error = dlerror();
        if (why != nullptr && error != nullptr) *why = error;
        return nullptr;
    }
    const void* owner = defining_object(handle, "cudnnGetVersion");
    if (owner == nullptr || owner == our_object()) {
        if (why != nullptr) *why = owner == nullptr ? "not a cuDNN library" : "that is dwshim itself";
        dlclose(handle);
        return nullptr;
    }
    return handle;
}

std::string object_path(void* handle) {
    Dl_info info{};
    void* address = dlsym(handle, "cudnnGetVersion");
    return address != nullptr && dladdr(address, &info) != 0 && info.dli_fname != nullptr ? info.dli_fname : "";
}

template <typename Fn>
void resolve(void* handle, const char* name, Fn* slot) {
    dlerror();
    *slot = reinterpret_cast<Fn>(dlsym(handle, name));
}

RealCudnn load() {
    RealCudnn real;
    const char* explicit_path = std::getenv("DWSHIM_CUDNN_LIBRARY");
    if (explicit_path != nullptr && explicit_path[0] != '\0') {
        std::string why;
        real.handle = open_candidate(explicit_path, RTLD_NOW | RTLD_LOCAL, &why);
        if (real.handle == nullptr) {
            std::fprintf(stderr, "dwshim: DWSHIM_CUDNN_LIBRARY=%s cannot be used (%s); cuDNN calls will fail\n",
                         explicit_path, why.c_str());
            return real;
        }
    } else {
        const char* sonames[] = {"libcudnn.so.9", "libcudnn.so.8"};
        for (const char* soname : sonames) {
            if (real.handle == nullptr) real.handle = open_candidate(soname, RTLD_NOW | RTLD_NOLOAD, nullptr);
        }
        if (real.handle == nullptr && kDefaultCudnnLibrary[0] != '\0') {
            real.handle = open_candidate(kDefaultCudnnLibrary, RTLD_NOW | RTLD_LOCAL, nullptr);
        }
        for (const char* soname : sonames) {
            if (real.handle == nullptr) real.handle = open_candidate(soname, RTLD_NOW | RTLD_LOCAL, nullptr);
        }
        if (real.handle == nullptr) {
            std::fprintf(stderr,
                         "dwshim: no real cuDNN found (libcudnn.so.9 or .8); set DWSHIM_CUDNN_LIBRARY to its path. "
                         "cuDNN calls will fail\n");
            return real;
        }
    }
    real.path = object_path(real.handle);
#define DWSHIM_ROUTED(name) resolve(real.handle, #name, &real.name);
#define DWSHIM_FORWARDED(name, ret, params, args) resolve(real.handle, #name, &real.name);
#define DWSHIM_REAL_ONLY(name) resolve(real.handle, #name, &real.name);
#include "cudnn_symbols.def"
    return real;
}

}  // namespace

void* real_symbol(const char* name) {
    void* handle = real_cudnn().handle;
    return handle != nullptr ? dlsym(handle, name) : nullptr;
}

const RealCudnn& real_cudnn() {
    static const RealCudnn real = load();  // C++11 guarantees one thread-safe initialisation
    return real;
}

}  // namespace dwshim
