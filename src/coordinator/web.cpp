// The coordinator as the web view's source (WebSource, web_view.hpp): its dataflows, newest
// first, its daemons, and the nodes' stats.
#include "coordinator/coordinator.hpp"

namespace dora::coordinator {

std::vector<WebDataflow> Coordinator::web_dataflows() const {
    std::vector<WebDataflow> out;
    for (auto it = dataflows_.rbegin(); it != dataflows_.rend(); ++it) {
        const Dataflow& d = it->second;
        out.push_back({info(d), d.described ? d.yaml : std::string(), d.path});
    }
    return out;
}

std::vector<message::DaemonInfo> Coordinator::web_daemons() const {
    return registry_.list(loop_.now());
}

void Coordinator::web_stats(const std::string&, std::function<void(WebStats)> done) {
    done(WebStats{});
}

}  // namespace dora::coordinator
