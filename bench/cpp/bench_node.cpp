// Benchmark node for the local data plane (used by bench/run_local.sh through `dora run`).
//
//   bench_node ping --sizes 0,8,... --rounds N     sends one message per round, waits for the ack
//   bench_node pong                                records one-way latency, acks each message
//   bench_node source --sizes ... --seconds S      sends as fast as it can, size by size
//   bench_node sink                                counts what arrives, prints throughput
//
// Latency is measured one way: the sender writes CLOCK_MONOTONIC time into the first 8 bytes of
// the sample right before sending; the receiver subtracts it from its own clock on arrival. Both
// run on one machine, so the clocks are the same clock. Payloads are written in place into the
// shared-memory sample (allocate_output): the figure is the transport's, not memcpy's.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <dora/node.hpp>
#include <map>
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
    size_t start = 0;
    while (start < list.size()) {
        size_t comma = list.find(',', start);
        out.push_back(std::stoull(list.substr(start, comma - start)));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

// Messages smaller than 8 bytes carry the time in the "t" parameter instead of the payload.
void send_stamped(dora::Node& node, const std::string& output, size_t size, int64_t round) {
    auto sample = node.allocate_output(size);
    uint64_t t = now_ns();
    dora::Parameters params{{"round", round}};
    if (size >= 8) {
        std::memcpy(sample.data().data(), &t, 8);
    } else {
        params["t"] = static_cast<int64_t>(t);
    }
    node.send_output_sample(output, std::move(sample), params);
}

uint64_t stamp_of(const dora::Event& e) {
    if (e.data().size() >= 8) {
        uint64_t t;
        std::memcpy(&t, e.data().data(), 8);
        return t;
    }
    auto it = e.metadata.parameters.find("t");
    return it == e.metadata.parameters.end() ? 0
                                             : static_cast<uint64_t>(std::get<int64_t>(it->second));
}

std::string human(size_t n) {
    if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + " MiB";
    if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + " KiB";
    return std::to_string(n) + " B";
}

int ping(dora::Node& node, int argc, char** argv) {
    auto list = sizes(arg(argc, argv, "--sizes", "0,8,64,512,4096,65536,1048576,4194304,41943040"));
    int rounds = std::stoi(arg(argc, argv, "--rounds", "2000"));
    for (size_t size : list) {
        int n = size >= (4u << 20) ? std::max(rounds / 10, 50) : rounds;
        for (int r = 0; r < n; ++r) {
            send_stamped(node, "ping", size, r == n - 1 ? -1 : r);
            for (;;) {
                auto e = node.next(std::chrono::seconds(10));
                if (!e) {
                    std::fprintf(stderr, "ping: no ack within 10 s\n");
                    return 1;
                }
                if (e->type == dora::EventType::Input) break;
                if (e->type == dora::EventType::Stop) return 0;
            }
        }
    }
    return 0;
}

int pong(dora::Node& node) {
    std::vector<double> samples;
    std::printf("%-10s %10s %10s %10s %8s\n", "size", "p50 (us)", "p99 (us)", "max (us)", "n");
    std::vector<std::byte> ack(8);
    while (auto e = node.next()) {
        if (e->type != dora::EventType::Input) continue;
        uint64_t t = now_ns();
        samples.push_back(static_cast<double>(t - stamp_of(*e)) / 1000.0);
        auto round = std::get<int64_t>(e->metadata.parameters.at("round"));
        size_t size = e->data().size();
        e.reset();  // release the sample before acking, as a real consumer would
        node.send_output("ack", ack);
        if (round == -1) {
            // Skip the first 10% (warm-up: fresh mappings, page faults).
            std::vector<double> s(samples.begin() + static_cast<long>(samples.size() / 10),
                                  samples.end());
            std::sort(s.begin(), s.end());
            auto pct = [&](double p) {
                return s[static_cast<size_t>(p * static_cast<double>(s.size() - 1))];
            };
            std::printf("%-10s %10.1f %10.1f %10.1f %8zu\n", human(size).c_str(), pct(0.5),
                        pct(0.99), s.back(), s.size());
            std::fflush(stdout);
            samples.clear();
        }
    }
    return 0;
}

int source(dora::Node& node, int argc, char** argv) {
    auto list = sizes(arg(argc, argv, "--sizes", "8,64,512,4096,65536,1048576"));
    double seconds = std::stod(arg(argc, argv, "--seconds", "1"));
    for (size_t size : list) {
        uint64_t end = now_ns() + static_cast<uint64_t>(seconds * 1e9);
        int64_t sent = 0;
        while (now_ns() < end) {
            auto sample = node.allocate_output(size);
            node.send_output_sample("data", std::move(sample),
                                    {{"size", static_cast<int64_t>(size)}});
            ++sent;
        }
        // End marker with the count, then wait for the sink to acknowledge the size.
        node.send_output("done", std::span<const std::byte>(),
                         {{"sent", sent}, {"size", static_cast<int64_t>(size)}});
        while (auto e = node.next(std::chrono::seconds(30))) {
            if (e->type == dora::EventType::Input) break;
        }
    }
    return 0;
}

// Per size: the receiver's rate, what it received and what its input queue dropped. At the end:
// every message sent and received, in all; sent - received is what the run's last line reports
// dropped (egress, link, ingress and input queue together). Per size the split can be off by a
// few: a size's last messages may arrive after its end marker (another stream) and count for the
// next size.
int sink(dora::Node& node) {
    std::printf("%-10s %12s %12s %10s %10s %10s\n", "size", "msg/s", "Gbit/s", "sent", "received",
                "queue drop");
    uint64_t first = 0, last = 0, count = 0, bytes = 0;
    uint64_t dropped_before = 0, total_sent = 0, total_received = 0;
    std::vector<std::byte> ack(1);
    while (auto e = node.next()) {
        if (e->type != dora::EventType::Input) continue;
        if (e->id == "data") {
            uint64_t t = now_ns();
            if (count == 0) first = t;
            last = t;
            ++count;
            ++total_received;
            bytes += e->data().size();
            continue;
        }
        auto size = std::get<int64_t>(e->metadata.parameters.at("size"));
        auto sent = static_cast<uint64_t>(std::get<int64_t>(e->metadata.parameters.at("sent")));
        total_sent += sent;
        uint64_t dropped = 0;
        for (auto& [id, d] : node.dropped_inputs()) dropped += d;
        double secs = static_cast<double>(last - first) / 1e9;
        double rate = secs > 0 ? static_cast<double>(count - 1) / secs : 0;
        std::printf("%-10s %12.0f %12.2f %10llu %10llu %10llu\n",
                    human(static_cast<size_t>(size)).c_str(), rate,
                    rate * static_cast<double>(size) * 8 / 1e9,
                    static_cast<unsigned long long>(sent), static_cast<unsigned long long>(count),
                    static_cast<unsigned long long>(dropped - dropped_before));
        std::fflush(stdout);
        dropped_before = dropped;
        count = bytes = 0;
        node.send_output("ack", ack);
    }
    std::printf("in all: sent %llu, received %llu, dropped %llu (sent - received)\n",
                static_cast<unsigned long long>(total_sent),
                static_cast<unsigned long long>(total_received),
                static_cast<unsigned long long>(total_sent - total_received));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_node ping|pong|source|sink [options]\n");
        return 2;
    }
    std::string mode = argv[1];
    auto node = dora::Node::from_env();
    if (mode == "ping") return ping(node, argc, argv);
    if (mode == "pong") return pong(node);
    if (mode == "source") return source(node, argc, argv);
    if (mode == "sink") return sink(node);
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
}
