// dora-runtime: the process the daemon starts for a node of shared-library operators
// (src/operator_runtime/runtime.hpp).
#include <cstdio>

#include "operator_runtime/runtime.hpp"

int main() {
    // Operators print with stdio; line by line, their lines reach the node's log as they happen.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    auto outcome = dora::operator_runtime::run_from_env();
    if (!outcome) {
        std::fflush(stdout);
        std::fprintf(stderr, "dora-runtime: %s\n", outcome.error().message().c_str());
        return 1;
    }
    return 0;
}
