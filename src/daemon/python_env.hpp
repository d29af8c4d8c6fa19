// Where the `dora` Python package matching this daemon lives, for the PYTHONPATH of the Python
// nodes it spawns (DESIGN.md section 7: a node can never load a mismatched version).
//
// A daemon running from a build tree uses that build's staged package (<build>/python); an
// installed daemon uses the installed copy next to its own prefix (<exe>/../<libdir>/dora/python),
// so an installation moved with `cmake --install --prefix P` still finds its own package.
//
// Thread safety: pure functions (reads /proc/self/exe).
#pragma once

#include <string>

namespace dora::daemon {

// The directory to put first on a Python node's PYTHONPATH.
[[nodiscard]] std::string dora_python_path();

// `dir` put in front of `existing` (a PYTHONPATH value, possibly empty).
[[nodiscard]] std::string prepend_python_path(const std::string& dir, const char* existing);

}  // namespace dora::daemon
