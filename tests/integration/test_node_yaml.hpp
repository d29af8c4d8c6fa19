// Test helper: dataflow YAML that names the fixture node as NODE.
#pragma once

#include <string>

namespace dora::testing {

// Replaces every "NODE" in `yaml` with the test node's absolute path (DORA_TEST_NODE).
inline std::string with_test_node(std::string yaml) {
    for (size_t p; (p = yaml.find("NODE")) != std::string::npos;) {
        yaml.replace(p, 4, DORA_TEST_NODE);
    }
    return yaml;
}

}  // namespace dora::testing
