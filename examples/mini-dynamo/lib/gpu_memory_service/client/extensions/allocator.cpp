// aligned_size(n): n rounded up to the 2 MiB granularity GPU virtual memory is mapped in.
// Only Python's C API: the wheel builder needs Python's headers, no CUDA.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>

namespace {
constexpr std::uint64_t kGranularity = 2ull << 20;

PyObject* aligned_size(PyObject*, PyObject* args) {
    unsigned long long size = 0;
    if (!PyArg_ParseTuple(args, "K", &size)) {
        return nullptr;
    }
    const std::uint64_t rounded = (size + kGranularity - 1) / kGranularity * kGranularity;
    return PyLong_FromUnsignedLongLong(rounded);
}

PyMethodDef methods[] = {
    {"aligned_size", aligned_size, METH_VARARGS, "Round a byte count up to the mapping granularity."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "_allocator_ext", nullptr, -1, methods};
}  // namespace

PyMODINIT_FUNC PyInit__allocator_ext() { return PyModule_Create(&module); }
