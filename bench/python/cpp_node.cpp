// C++ counterpart of bench/python/bench_node.py, so Python and C++ figures come from the same
// method in the same run (bench/python/run.sh):
//   cpp_node ping --sizes 8,4096,... --rounds N   round trips; prints one-way = RTT/2 p50/p99
//   cpp_node pong                                 answers each input with a sample of its size
//   cpp_node source --sizes ... --count N         N samples per size back to back, then "done"
//   cpp_node sink                                 counts arrivals per size, prints the rate
// Samples are allocated from the pool and sent in place, payload untouched, as the Python nodes
// do with allocate_output: the figures are the runtime's, not memcpy's.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <dora/node.hpp>
#include <string>
#include <vector>

namespace {

uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

std::string arg(int argc, char** argv, std::string_view name, std::string fallback) {
    for (int i = 2; i + 1 < argc; ++i) {
        if (name == argv[i]) return argv[i + 1];
    }
    return fallback;
}

std::vector<size_t> sizes(const std::string& list) {
    std::vector<size_t> out;
    for (size_t start = 0; start < list.size();) {
        size_t comma = list.find(',', start);
        out.push_back(std::stoull(list.substr(start, comma - start)));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

void send_sample(dora::Node& node, const char* output, size_t size,
                 const dora::Parameters& params = {}) {
    auto sample = node.allocate_output(size);
    node.send_output_sample(output, std::move(sample), params);
}

// Waits for the next input; false when the stream ended or nothing came for 30 s.
bool next_input(dora::Node& node) {
    while (auto e = node.next(std::chrono::seconds(30))) {
        if (e->type == dora::EventType::Input) return true;
        if (e->type == dora::EventType::Stop) return false;
    }
    return false;
}

int ping(dora::Node& node, int argc, char** argv) {
    const int rounds = std::stoi(arg(argc, argv, "--rounds", "2000"));
    for (size_t size : sizes(arg(argc, argv, "--sizes", "8,4096,1048576,41943040"))) {
        const int n = size >= (4u << 20) ? std::max(rounds / 20, 50) : rounds;
        std::vector<double> one_way;
        for (int r = 0; r < n; ++r) {
            const uint64_t t0 = now_ns();
            send_sample(node, "ping", size);
            if (!next_input(node)) {
                std::fprintf(stderr, "ping: no answer\n");
                return 1;
            }
            one_way.push_back(static_cast<double>(now_ns() - t0) / 2000.0);
        }
        one_way.erase(one_way.begin(), one_way.begin() + n / 10);  // warm-up
        std::sort(one_way.begin(), one_way.end());
        auto pct = [&](double p) {
            return one_way[static_cast<size_t>(p * static_cast<double>(one_way.size() - 1))];
        };
        std::printf("latency %zu %.2f %.2f %zu\n", size, pct(0.5), pct(0.99), one_way.size());
        std::fflush(stdout);
    }
    return 0;
}

int pong(dora::Node& node) {
    while (auto e = node.next()) {
        if (e->type != dora::EventType::Input) continue;
        const size_t size = static_cast<size_t>(e->metadata.length);
        e.reset();  // release the sample before answering, as a real consumer would
        send_sample(node, "pong", size);
    }
    return 0;
}

int source(dora::Node& node, int argc, char** argv) {
    const int count = std::stoi(arg(argc, argv, "--count", "20000"));
    for (size_t size : sizes(arg(argc, argv, "--sizes", "8,4096,1048576,41943040"))) {
        const int n = size >= (4u << 20)   ? std::max(count / 1000, 20)
                      : size >= (1u << 20) ? std::max(count / 20, 200)
                                           : count;
        for (int i = 0; i < n; ++i) {
            send_sample(node, "data", size);
        }
        node.send_output("done", std::span<const std::byte>(),
                         {{"size", static_cast<int64_t>(size)}, {"sent", int64_t{n}}});
        if (!next_input(node)) return 1;
    }
    return 0;
}

int sink(dora::Node& node) {
    uint64_t first = 0, last = 0, count = 0;
    while (auto e = node.next()) {
        if (e->type != dora::EventType::Input) continue;
        if (e->id == "data") {
            last = now_ns();
            if (count++ == 0) first = last;
            continue;
        }
        const auto size = std::get<int64_t>(e->metadata.parameters.at("size"));
        const auto sent = std::get<int64_t>(e->metadata.parameters.at("sent"));
        const double secs = static_cast<double>(last - first) / 1e9;
        const double rate = secs > 0 ? static_cast<double>(count - 1) / secs : 0;
        std::printf("throughput %lld %.0f %llu %lld\n", static_cast<long long>(size), rate,
                    static_cast<unsigned long long>(count), static_cast<long long>(sent));
        std::fflush(stdout);
        count = 0;
        node.send_output("ack", std::span<const std::byte>());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: cpp_node ping|pong|source|sink [options]\n");
        return 2;
    }
    const std::string mode = argv[1];
    auto node = dora::Node::from_env();
    if (mode == "ping") return ping(node, argc, argv);
    if (mode == "pong") return pong(node);
    if (mode == "source") return source(node, argc, argv);
    if (mode == "sink") return sink(node);
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
}
