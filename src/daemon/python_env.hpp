// Where the runtimes matching this daemon live: the `dora` Python package, for the PYTHONPATH of
// the Python nodes it spawns (DESIGN.md section 7: a node can never load a mismatched version),
// and dora-runtime, the process of a node of shared-library operators.
//
// A daemon running from a build tree uses that build's staged package (<build>/python) and its
// dora-runtime; an installed daemon uses the installed copies next to its own prefix
// (<exe>/../<libdir>/dora/python, <exe dir>/dora-runtime), so an installation moved with
// `cmake --install --prefix P` still finds its own.
//
// Thread safety: pure functions (reads /proc/self/exe).
#pragma once

#include <string>

namespace dora::daemon {

// The directory to put first on a Python node's PYTHONPATH.
[[nodiscard]] std::string dora_python_path();

// The dora-runtime executable to start for a node of shared-library operators.
[[nodiscard]] std::string dora_runtime_path();

// `dir` put in front of `existing` (a PYTHONPATH value, possibly empty).
[[nodiscard]] std::string prepend_python_path(const std::string& dir, const char* existing);

}  // namespace dora::daemon
