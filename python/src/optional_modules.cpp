#include "optional_modules.hpp"

namespace dora::python {

namespace {

// Imports `name` once; the result (module or None) lives as long as the process: modules are
// never unloaded, and a static py::object would be destroyed after the interpreter.
py::handle import_once(const char* name, PyObject*& slot) {
    if (slot == nullptr) {
        PyObject* module = PyImport_ImportModule(name);
        if (module == nullptr) {
            PyErr_Clear();
            Py_INCREF(Py_None);
            module = Py_None;
        }
        slot = module;
    }
    return slot;
}

PyObject* g_pyarrow = nullptr;
PyObject* g_numpy = nullptr;

}  // namespace

py::handle optional_pyarrow() { return import_once("pyarrow", g_pyarrow); }

py::handle optional_numpy() { return import_once("numpy", g_numpy); }

}  // namespace dora::python
