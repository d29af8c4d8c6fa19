// numpy and pyarrow, where they are installed: imported on first need, never required.
//
// dora's Python package works without either. Where pyarrow is installed, dora.Array uses it for
// what pyarrow does better than a reimplementation (its data types, its Python values of temporal
// types, its copying conversions, every pyarrow.Array method dora.Array does not define); numpy is
// needed only for the numpy conversions themselves. A failed import is remembered, so asking again
// costs nothing (and an import error of a broken installation is reported once, as "missing").
//
// Thread safety: call with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

namespace dora::python {

namespace py = pybind11;

// The pyarrow module, or None when it cannot be imported.
[[nodiscard]] py::handle optional_pyarrow();

// The numpy module, or None when it cannot be imported.
[[nodiscard]] py::handle optional_numpy();

}  // namespace dora::python
