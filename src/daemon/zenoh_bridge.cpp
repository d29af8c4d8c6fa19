#include "daemon/zenoh_bridge.hpp"

#include <time.h>

#include <cstring>
#include <future>

#include "shm/pool.hpp"

namespace dora::daemon {

namespace {

// Samples handed to the network thread but not yet published: beyond this, the egress thread
// waits (its rings keep dropping the oldest, as every dora queue does).
constexpr size_t kMaxInFlight = 4096;

}  // namespace

struct ZenohBridge::Route {
    std::string dataflow_id;
    LocalDataflow* dataflow = nullptr;
    std::vector<zenoh::Subscription> subscriptions;  // network thread
    std::unique_ptr<shm::Pool> ingress_pool;         // network thread
    std::thread egress;
    std::atomic<bool> stop{false};
    std::atomic<size_t> in_flight{0};
    // The egress thread's mappings of sender segments; batches queued on the network thread
    // point into them, so they live as long as the route.
    std::unique_ptr<shm::SegmentCache> egress_cache;
};

ZenohBridge::ZenohBridge(ZenohBridgeOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<ZenohBridge>> ZenohBridge::start(ZenohBridgeOptions options) {
    std::unique_ptr<ZenohBridge> bridge(new ZenohBridge(std::move(options)));
    // The daemon's loop handles signals and child exits; this thread inherits its blocked mask.
    auto loop = EventLoop::create({nullptr, /*handle_signals=*/false});
    if (!loop) {
        return fail(loop.error());
    }
    bridge->loop_ = std::move(*loop);
    zenoh::SessionOptions session_options;
    session_options.config = bridge->options_.config;
    auto session = zenoh::Session::open(*bridge->loop_, session_options);
    if (!session) {
        return fail(session.error().context("opening the Zenoh session"));
    }
    bridge->session_ = std::move(*session);
    for (uint16_t port : bridge->session_->listen_ports()) {
        bridge->endpoints_.push_back(
            fmt::format("tcp/{}:{}", bridge->options_.advertised_host, port));
    }
    ZenohBridge* self = bridge.get();
    bridge->network_ = std::thread([self] { self->loop_->run(); });
    return bridge;
}

ZenohBridge::~ZenohBridge() {
    std::vector<std::string> ids;
    for (const auto& [id, route] : routes_) {
        ids.push_back(id);
    }
    for (const auto& id : ids) {
        detach(id);
    }
    if (network_.joinable()) {
        run_on_network([this] { session_.reset(); });
        loop_->stop();
        network_.join();
    }
}

void ZenohBridge::run_on_network(const std::function<void()>& fn) {
    std::promise<void> done;
    loop_->post([&] {
        fn();
        done.set_value();
    });
    done.get_future().wait();
}

void ZenohBridge::set_peers(const std::vector<message::DaemonInfo>& peers) {
    if (options_.config.mode == zenoh::Mode::kClient) {
        return;
    }
    std::vector<zenoh::Endpoint> to_connect;
    for (const auto& peer : peers) {
        if (peer.machine_id >= options_.machine_id) {
            continue;  // that one connects to us
        }
        for (const auto& text : peer.zenoh_endpoints) {
            if (auto endpoint = zenoh::parse_endpoint(text)) {
                to_connect.push_back(*endpoint);
            }
        }
    }
    run_on_network([&] {
        for (const auto& endpoint : to_connect) {
            auto text = endpoint.to_string();
            if (std::find(connected_.begin(), connected_.end(), text) == connected_.end()) {
                connected_.push_back(text);
                session_->connect_to(endpoint);
            }
        }
    });
}

Result<> ZenohBridge::attach(LocalDataflow& dataflow) {
    const auto& plan = dataflow.plan();
    if (plan.egress.empty() && plan.ingress.empty()) {
        return {};
    }
    auto route = std::make_unique<Route>();
    route->dataflow_id = dataflow.id();
    route->dataflow = &dataflow;
    Route* r = route.get();
    Result<> result;
    if (!plan.ingress.empty()) {
        r->ingress_pool =
            std::make_unique<shm::Pool>(plan.pool_prefix(kIngressSender), kIngressSender, 0);
        run_on_network([&] {
            for (const auto& stream : plan.ingress) {
                const IngressStream* s = &stream;
                auto id =
                    session_->declare_subscriber(stream.key, [r, s](const zenoh::Sample& sample) {
                        const auto& put = sample.put;
                        auto& regions = *r->dataflow;
                        if (put.attachment && put.attachment->size() == 1 &&
                            (*put.attachment)[0] == kEndOfStreamMarker) {
                            for (const RingRef& ref : s->receivers) {
                                regions.region(ref.node).ring(ref.ring).close();
                                regions.region(ref.node).signal().notify();
                            }
                            return;
                        }
                        std::span<const uint8_t> meta =
                            put.attachment ? *put.attachment : std::span<const uint8_t>();
                        auto sample_out =
                            r->ingress_pool->allocate(put.payload.size(), meta.size());
                        if (!sample_out) {
                            return;  // pool exhausted: receivers hold everything; drop like a full
                                     // queue
                        }
                        if (!put.payload.empty()) {
                            std::memcpy(sample_out->data().data(), put.payload.data(),
                                        put.payload.size());
                        }
                        auto entry = r->ingress_pool->publish(
                            std::move(*sample_out), std::as_bytes(meta),
                            static_cast<uint32_t>(s->receivers.size()), shm::send_time_ns());
                        if (!entry) {
                            return;
                        }
                        for (const RingRef& ref : s->receivers) {
                            if (auto dropped =
                                    regions.region(ref.node).ring(ref.ring).push(*entry)) {
                                r->ingress_pool->release(*dropped);
                            }
                            regions.region(ref.node).signal().notify();
                        }
                    });
                if (!id) {
                    result = fail(id.error());
                    return;
                }
                r->subscriptions.push_back(std::move(*id));
            }
        });
        if (!result) {
            return result;
        }
    }
    if (!plan.egress.empty()) {
        r->egress = std::thread([this, r] { egress_loop(r); });
    }
    routes_.emplace(route->dataflow_id, std::move(route));
    return {};
}

void ZenohBridge::egress_loop(Route* route) {
    shm::Region* region = route->dataflow->egress_region();
    const auto& plan = route->dataflow->plan();
    std::map<uint16_t, std::string> senders;
    for (const auto& node : plan.nodes) {
        senders.emplace(node.sender, plan.pool_prefix(node.sender));
    }
    route->egress_cache = std::make_unique<shm::SegmentCache>(std::move(senders));
    shm::SegmentCache& cache = *route->egress_cache;
    std::vector<bool> ended(plan.egress.size(), false);
    struct Item {
        const std::string* key;
        std::span<const uint8_t> data;
        std::span<const uint8_t> metadata;
        std::atomic<uint32_t>* refcount;  // null for an end marker
    };
    static const uint8_t kEnd[1] = {kEndOfStreamMarker};
    // After stop is requested, one more pass drains what the producers left and sends the end
    // markers of the rings they closed (detach comes right after the last producer exited).
    for (bool last_pass = false; !last_pass;) {
        last_pass = route->stop.load();
        const uint32_t seen = region->signal().current();
        std::vector<Item> batch;
        for (uint32_t i = 0; i < plan.egress.size(); ++i) {
            shm::Ring ring = region->ring(i);
            while (auto entry = ring.pop()) {
                auto view = cache.view(*entry);
                if (!view) {
                    cache.release(*entry);
                    continue;
                }
                batch.push_back(
                    Item{&plan.egress[i].key,
                         {reinterpret_cast<const uint8_t*>(view->data), view->data_len},
                         {reinterpret_cast<const uint8_t*>(view->metadata), view->metadata_len},
                         view->refcount});
            }
            if (!ended[i] && ring.closed() && ring.empty()) {
                ended[i] = true;
                batch.push_back(Item{&plan.egress[i].key, {}, {kEnd, 1}, nullptr});
            }
        }
        if (!batch.empty()) {
            route->in_flight += batch.size();
            loop_->post([this, route, batch = std::move(batch)] {
                for (const Item& item : batch) {
                    if (session_) {
                        (void)session_->put(*item.key, item.data, std::nullopt, item.metadata);
                    }
                    if (item.refcount != nullptr) {
                        item.refcount->fetch_sub(1, std::memory_order_acq_rel);
                    }
                }
                route->in_flight -= batch.size();
            });
            while (route->in_flight.load() > kMaxInFlight && !route->stop.load()) {
                std::this_thread::sleep_for(std::chrono::microseconds(100));
            }
            if (!last_pass) {
                continue;
            }
        }
        if (last_pass) {
            break;
        }
        region->signal().wait(seen,
                              std::chrono::steady_clock::now() + std::chrono::milliseconds(100),
                              std::chrono::microseconds(20));
    }
}

bool ZenohBridge::remote_subscribers_ready(const LocalDataflow& dataflow) {
    bool ready = true;
    run_on_network([&] {
        for (const auto& stream : dataflow.plan().egress) {
            ready = ready && session_->has_remote_subscriber(stream.key);
        }
    });
    return ready;
}

void ZenohBridge::detach(const std::string& dataflow_id) {
    auto it = routes_.find(dataflow_id);
    if (it == routes_.end()) {
        return;
    }
    Route* route = it->second.get();
    route->stop.store(true);
    if (route->egress.joinable()) {
        route->egress.join();
    }
    run_on_network([&] { route->subscriptions.clear(); });  // undeclared as they go
    // Batches still queued on the network thread reference the route: let them run first.
    run_on_network([] {});
    if (route->ingress_pool) {
        route->ingress_pool->unlink_all();
    }
    routes_.erase(it);
}

}  // namespace dora::daemon
